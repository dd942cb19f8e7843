// The persisted key ring on a real Deno KV: two authorities rotating concurrently agree on one
// schedule and lose no key, a restart keeps the signing key, a wrong master secret is refused.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Authority, Verifier, denoKvStore } from "../../dist/deno.js";
import { AUDIENCE, ISSUER, manualClock, rejection, withKv } from "./_helpers.js";

const SEC = 1000;
const secret = (f) => Buffer.from(Array.from({ length: 32 }, (_, i) => f(i) & 0xff)).toString("base64url");
const RING = { masterSecret: secret((i) => i + 11), rotationInterval: 600, jwksMaxAge: 30, refreshInterval: 5, clockMargin: 5 };
const ringAuthority = (store, clock, keyRing = RING) =>
  Authority.withKeyRing({ issuer: ISSUER, audience: AUDIENCE, accessTokenTtl: 60, clock, keyRing }, store);
const kids = (jwks) => jwks.keys.map((k) => k.kid).sort();

Deno.test("key ring on Deno KV: four concurrent rotations from two authorities publish once, three rounds", () =>
  withKv(async (kv) => {
    const clock = manualClock();
    const store = denoKvStore(kv);
    const [a, b] = await Promise.all([ringAuthority(store, clock), ringAuthority(store, clock)]);
    assert.equal(a.activeKid(), b.activeKid(), "a creation race ends with one ring");
    for (let round = 0; round < 3; round++) {
      clock.advance(600 * SEC);
      const results = await Promise.all([a.rotateKeys(), b.rotateKeys(), a.rotateKeys(), b.rotateKeys()]);
      const published = results.map((r) => r.published).filter((k) => k !== null);
      assert.equal(published.length, 1, `round ${round}`);
      await Promise.all([a.refreshKeys(), b.refreshKeys()]);
      assert.deepEqual(kids(a.jwks()), kids(b.jwks()));
      assert.ok(kids(a.jwks()).includes(published[0]));
      clock.set(results.find((r) => r.published !== null).activatesAt);
      assert.equal(a.activeKid(), published[0]);
      assert.equal(b.activeKid(), published[0]);
      const token = (await a.issue({ subject: "alice" })).accessToken;
      assert.equal(new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: b.jwks(), clock }).verify(token).sub, "alice");
    }
  }));

Deno.test("key ring on Deno KV: a restart keeps the signing key and the published successor", () =>
  withKv(async (kv) => {
    const clock = manualClock();
    const store = denoKvStore(kv);
    const before = await ringAuthority(store, clock);
    clock.advance(600 * SEC);
    const r = await before.rotateKeys();
    before.free();
    const after = await ringAuthority(denoKvStore(kv), clock);
    assert.equal(after.activeKid(), r.signingKid);
    assert.deepEqual(kids(after.jwks()), [r.signingKid, r.published].sort());
    clock.set(r.activatesAt);
    assert.equal(after.activeKid(), r.published);
  }));

Deno.test("key ring on Deno KV: a wrong master secret is keys_wrong_secret", () =>
  withKv(async (kv) => {
    const clock = manualClock();
    await ringAuthority(denoKvStore(kv), clock);
    const e = await rejection(ringAuthority(denoKvStore(kv), clock, { ...RING, masterSecret: secret((i) => 255 - i) }));
    assert.equal(e.code, "keys_wrong_secret");
  }));
