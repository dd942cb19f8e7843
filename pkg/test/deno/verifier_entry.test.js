// `webgates-sessions/verifier` in Deno: the Deno entry (Deno.readFile) and the bundler entry
// (module-relative URL) of the verifier-only module verify what the full module issues.
import assert from "node:assert/strict";
import { Authority, MemoryStore, generateSigningKey } from "../../dist/deno.js";
import { Verifier as DenoVerifier } from "../../dist/verifier/deno.js"; // the shipped, bundled entry
import { Verifier as BrowserVerifier } from "../../src/verifier/browser.js";
import { AUDIENCE, ISSUER, tamperSignature } from "./_helpers.js";

Deno.test("verifier entry points: same claims and codes as the full module", async () => {
  const authority = new Authority({ issuer: ISSUER, audience: AUDIENCE, signingKeys: [generateSigningKey()], store: new MemoryStore() });
  const s = await authority.issue({ subject: "verifier-entry", claims: { tier: "gold" } });
  for (const V of [DenoVerifier, BrowserVerifier]) {
    const verifier = new V({ issuer: ISSUER, audience: AUDIENCE, jwks: authority.jwks() });
    const claims = verifier.verify(s.accessToken);
    assert.equal(claims.sub, "verifier-entry");
    assert.equal(claims.tier, "gold");
    assert.equal(claims.sid, s.sessionId);
    assert.throws(() => verifier.verify(tamperSignature(s.accessToken)), (e) => e.code === "token_bad_signature");
    verifier.free();
  }
});
