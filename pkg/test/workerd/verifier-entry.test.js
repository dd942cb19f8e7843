// `webgates-sessions/verifier` inside workerd: a resource-service Worker on the verifier-only
// module verifies what the full module issues, and refuses with the same codes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { Authority, MemoryStore, Verifier } from "../../dist/node.js";
import { modulesRules, repoRoot, signingKeyJson } from "./miniflare.js";
import { tamperSignature } from "../node/support.js";

const ISSUER = "https://auth.example";
const AUDIENCE = "api.example";
let mf;
let authority;

before(async () => {
  authority = new Authority({ issuer: ISSUER, audience: AUDIENCE, signingKeys: [JSON.parse(signingKeyJson())], store: new MemoryStore() });
  mf = new Miniflare({
    modules: true,
    scriptPath: fileURLToPath(new URL("./verifier-worker.js", import.meta.url)),
    modulesRoot: repoRoot,
    modulesRules,
    bindings: { ISSUER, AUDIENCE, JWKS: JSON.stringify(authority.jwks()) },
    compatibilityDate: "2025-01-01",
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
});

const me = (token) => mf.dispatchFetch("http://resource.test/me", { headers: { authorization: `Bearer ${token}` } });

test("a Worker on the verifier-only module verifies tokens like the full module", async () => {
  const local = new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: authority.jwks() });
  const s = await authority.issue({ subject: "resource-user", claims: { tier: "gold", n: 0.1 } });
  const res = await me(s.accessToken);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), local.verify(s.accessToken));
  for (const [token, code] of [
    // The signature's first character changed: always a different, well-formed signature.
    [tamperSignature(s.accessToken), "token_bad_signature"],
    ["nonsense", "token_malformed"],
    ["", "token_malformed"],
  ]) {
    const r = await me(token);
    assert.equal(r.status, 401);
    assert.equal((await r.json()).code, code);
  }
});
