// Test-only resource-service Worker on `webgates-sessions/verifier` (the verifier-only module):
// GET /me with `Authorization: Bearer <access token>` → 200 with the claims, or 401 with the code.
import { Verifier } from "../../src/verifier/workerd.js";

let verifier;

export default {
  fetch(request, env) {
    verifier ??= new Verifier({ issuer: env.ISSUER, audience: env.AUDIENCE, jwks: JSON.parse(env.JWKS) });
    const token = (request.headers.get("authorization") ?? "").replace(/^Bearer /, "");
    try {
      return Response.json(verifier.verify(token));
    } catch (e) {
      return Response.json({ code: e.code }, { status: 401 });
    }
  },
};
