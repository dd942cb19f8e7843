// The bundler/browser entry point (src/browser.js) instantiates the wasm from a URL relative to
// the module (fetch + WebAssembly streaming compilation), as a browser or a bundler's output does.
// Deno fetches file: URLs, so it can load that entry unbundled: this checks the entry works and
// exposes the same API.
import assert from "node:assert/strict";
import { Authority, MemoryStore, Verifier, generateSigningKey } from "../../src/browser.js";

Deno.test("browser entry: instantiates from a module-relative URL and issues, renews, verifies", async () => {
  const authority = new Authority({
    issuer: "https://auth.example",
    audience: "api",
    signingKeys: [generateSigningKey()],
    store: new MemoryStore(),
  });
  const s = await authority.issue({ subject: "browser-entry" });
  const verifier = new Verifier({ issuer: "https://auth.example", audience: "api", jwks: authority.jwks() });
  assert.equal(verifier.verify(s.accessToken).sub, "browser-entry");
  const r = await authority.renew(s.refreshToken);
  assert.equal(r.outcome, "renewed");
  assert.equal(verifier.verify(r.accessToken).sid, s.sessionId);
});
