// Test-only resource-service Worker on `webgates-sessions/verifier` with createRemoteVerifier:
// GET /verify?v=<name>&jwks=<url>[&timeoutMs=..] with `Authorization: Bearer <token>` and
// `x-now: <epoch ms>` (the test's manual clock) → 200 with the claims, or 401 with the code.
// One verifier per name lives across requests in the isolate, as in a real Worker.
import { createRemoteVerifier } from "../../src/verifier/workerd.js";

const verifiers = new Map();
let now = 0;

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    now = Number(request.headers.get("x-now"));
    const name = url.searchParams.get("v") ?? "default";
    let verifier = verifiers.get(name);
    if (verifier === undefined) {
      const timeoutMs = url.searchParams.get("timeoutMs");
      verifier = createRemoteVerifier({
        issuer: env.ISSUER,
        audience: env.AUDIENCE,
        jwksUrl: url.searchParams.get("jwks"),
        clock: () => now,
        ...(timeoutMs === null ? {} : { timeoutMs: Number(timeoutMs) }),
      });
      verifiers.set(name, verifier);
    }
    const token = (request.headers.get("authorization") ?? "").replace(/^Bearer /, "");
    try {
      return Response.json(await verifier.verify(token));
    } catch (e) {
      return Response.json({ code: e.code ?? null, message: String(e.message) }, { status: 401 });
    }
  },
};
