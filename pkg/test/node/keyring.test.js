// The persisted key ring through the JS API: Authority.withKeyRing loads (or creates) the ring in
// the store, rotateKeys advances publish → activate → retire, two instances on one store agree
// on one schedule, a restart keeps the signing key, and a wrong master secret is refused.
import assert from "node:assert/strict";
import test from "node:test";
import { Authority, MemoryStore, Verifier, generateSigningKey } from "../../dist/node.js";
import { AUDIENCE, ISSUER, SEC, assertPackageError, manualClock } from "./support.js";

const DAY = 86_400 * SEC;
const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
const SECRET = b64url(Array.from({ length: 32 }, (_, i) => i + 1));
const OTHER_SECRET = b64url(Array.from({ length: 32 }, (_, i) => 200 - i));
// Short settings: activation delay 30 + 5 + 5 = 40 s, retirement delay 60 + 30 + 5 = 95 s.
const RING = { masterSecret: SECRET, rotationInterval: 600, jwksMaxAge: 30, refreshInterval: 5, clockMargin: 5 };

function ringAuthority(store, clock, keyRing = RING, extra = {}) {
  return Authority.withKeyRing(
    { issuer: ISSUER, audience: AUDIENCE, accessTokenTtl: 60, clock: clock.now, keyRing, ...extra },
    store,
  );
}

const verifierFor = (jwks, clock) => new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks, clock: clock.now });
/** A validation function for assert.throws / assert.rejects: a package error with `code`. */
const coded = (code, extra = {}) => (e) => {
  assertPackageError(e, { code, ...extra });
  return true;
};
const kids = (jwks) => jwks.keys.map((k) => k.kid).sort();

test("withKeyRing creates the ring on first use and its schedule derives from the settings", async () => {
  const clock = manualClock();
  const authority = await ringAuthority(new MemoryStore(), clock);
  assert.equal(authority.jwks().keys.length, 1);
  assert.equal(authority.jwks().keys[0].kid, authority.activeKid());
  assert.equal(authority.jwksMaxAge(), 30);
  assert.deepEqual(authority.keyRingSchedule(), {
    activationDelay: 40,
    retirementDelay: 95,
    rotationInterval: 600,
    clockMargin: 5,
  });
  const first = await authority.rotateKeys();
  assert.equal(first.bootstrapped, false, "the ring already exists: load created it");
  assert.equal(first.published, null);
  assert.equal(first.signingKid, authority.activeKid());
  // The first key counts as active from the clock margin before its creation.
  assert.equal(first.nextRotationAt, clock.t - 5 * SEC + 600 * SEC);
});

test("rotateKeys: publish (verify only) → activate after the delay → retire the predecessor", async () => {
  const clock = manualClock();
  const authority = await ringAuthority(new MemoryStore(), clock);
  const oldKid = authority.activeKid();

  clock.advance(600 * SEC);
  const r = await authority.rotateKeys();
  assert.equal(r.bootstrapped, false);
  assert.equal(typeof r.published, "string");
  assert.notEqual(r.published, oldKid);
  assert.equal(r.activatesAt, clock.t + 40 * SEC);
  assert.equal(r.signingKid, oldKid, "the successor is verify-only at first");
  assert.deepEqual(kids(authority.jwks()), [oldKid, r.published].sort());
  assert.equal(authority.activeKid(), oldKid);
  clock.set(r.activatesAt - SEC);
  const oldToken = (await authority.issue({ subject: "alice" })).accessToken;

  clock.set(r.activatesAt);
  assert.equal(authority.activeKid(), r.published);
  const newToken = (await authority.issue({ subject: "bob" })).accessToken;
  const v = verifierFor(authority.jwks(), clock);
  assert.equal(v.verify(oldToken).sub, "alice");
  assert.equal(v.verify(newToken).sub, "bob");

  clock.set(r.activatesAt + 95 * SEC);
  assert.deepEqual(kids(authority.jwks()), [r.published], "the predecessor left the JWKS");
  const done = await authority.rotateKeys();
  assert.deepEqual(done.dropped, [oldKid]);
  assert.equal(done.published, null);
  assert.equal(done.nextRotationAt, r.activatesAt + 600 * SEC);
});

test("two authorities on one store rotating concurrently: one schedule, no lost key", async () => {
  const clock = manualClock();
  const store = new MemoryStore();
  const [a, b] = await Promise.all([ringAuthority(store, clock), ringAuthority(store, clock)]);
  assert.equal(a.activeKid(), b.activeKid(), "a creation race ends with one ring");
  const first = a.activeKid();

  for (let round = 0; round < 3; round++) {
    clock.advance(600 * SEC);
    const results = await Promise.all([a.rotateKeys(), b.rotateKeys(), a.rotateKeys(), b.rotateKeys()]);
    const published = results.map((r) => r.published).filter((k) => k !== null);
    assert.equal(published.length, 1, `round ${round}: exactly one call publishes`);
    await Promise.all([a.refreshKeys(), b.refreshKeys()]);
    assert.deepEqual(kids(a.jwks()), kids(b.jwks()));
    assert.ok(kids(a.jwks()).includes(published[0]), "the published key is in the ring");
    assert.equal(new Set(results.map((r) => r.activatesAt).filter((t) => t !== null)).size, 1);
    clock.set(results.find((r) => r.published !== null).activatesAt);
    assert.equal(a.activeKid(), published[0]);
    assert.equal(b.activeKid(), published[0]);
    // Each instance's tokens verify with the other's JWKS.
    const ta = (await a.issue({ subject: "a" })).accessToken;
    const tb = (await b.issue({ subject: "b" })).accessToken;
    assert.equal(verifierFor(b.jwks(), clock).verify(ta).sub, "a");
    assert.equal(verifierFor(a.jwks(), clock).verify(tb).sub, "b");
  }
  assert.ok(!kids(a.jwks()).includes(first), "the first key retired after its successors");
});

test("a restart (new withKeyRing on the same store) keeps the signing key and the schedule", async () => {
  const clock = manualClock();
  const store = new MemoryStore();
  const before = await ringAuthority(store, clock);
  clock.advance(600 * SEC);
  const r = await before.rotateKeys();
  const token = (await before.issue({ subject: "alice" })).accessToken;
  before.free();

  const after = await ringAuthority(store, clock);
  assert.deepEqual(kids(after.jwks()), [r.signingKid, r.published].sort(), "the published successor survives");
  assert.equal(after.activeKid(), r.signingKid);
  assert.equal(verifierFor(after.jwks(), clock).verify(token).sub, "alice");
  clock.set(r.activatesAt);
  assert.equal(after.activeKid(), r.published, "and activates on schedule after the restart");
  const again = await after.rotateKeys();
  assert.equal(again.published, null, "nothing to publish twice");
});

test("a wrong master secret is refused with keys_wrong_secret and writes nothing", async () => {
  const clock = manualClock();
  const store = new MemoryStore();
  const owner = await ringAuthority(store, clock);
  const kid = owner.activeKid();
  await assert.rejects(ringAuthority(store, clock, { ...RING, masterSecret: OTHER_SECRET }), coded("keys_wrong_secret", { secrets: [OTHER_SECRET, SECRET] }),
  );
  clock.advance(600 * SEC);
  const again = await ringAuthority(store, clock);
  assert.equal(again.activeKid(), kid);
});

test("master secret and key ring settings are checked before anything is read", async () => {
  const clock = manualClock();
  const store = new MemoryStore();
  const cases = [
    [{ ...RING, masterSecret: b64url(new Uint8Array(31)) }, "keys_secret_too_short"],
    [{ ...RING, masterSecret: b64url(new Uint8Array(1025)) }, "keys_secret_too_long"],
    [{ ...RING, masterSecret: SECRET + "=" }, "invalid_input"],
    [{ ...RING, masterSecret: "not base64url!" }, "invalid_input"],
    [{ ...RING, jwksMaxAge: 10 }, "config_invalid"],
    [{ ...RING, rotationInterval: 100 }, "config_invalid"],
    [{ ...RING, unknown: 1 }, "invalid_input"],
  ];
  for (const [keyRing, code] of cases) {
    await assert.rejects(ringAuthority(store, clock, keyRing), coded(code), code);
  }
  await assert.rejects(
    Authority.withKeyRing({ issuer: ISSUER, audience: AUDIENCE, clock: clock.now, keyRing: RING, store }, store),
    coded("invalid_input"),
  );
  await assert.rejects(
    Authority.withKeyRing({ issuer: ISSUER, audience: AUDIENCE, clock: clock.now, keyRing: RING, signingKeys: [] }, store),
    coded("invalid_input"),
  );
  assert.equal(store.size, 0, "nothing was written");
  // The store may also come in the options.
  const inOptions = await Authority.withKeyRing({ issuer: ISSUER, audience: AUDIENCE, clock: clock.now, keyRing: RING, store });
  assert.equal(inOptions.jwks().keys.length, 1);
});

test("currentJwks refreshes a due ring: another instance's rotation is served within the refresh interval", async () => {
  const clock = manualClock();
  const store = new MemoryStore();
  const rotator = await ringAuthority(store, clock);
  const endpoint = await ringAuthority(store, clock);
  clock.advance(600 * SEC);
  const r = await rotator.rotateKeys();
  assert.equal((await endpoint.currentJwks()).keys.length, 2, "600 s since the last read: refreshed");
  clock.advance(2 * SEC);
  assert.equal(endpoint.keysRefreshDue(), false);
  clock.advance(3 * SEC);
  assert.equal(endpoint.keysRefreshDue(), true);
  assert.ok(kids(await endpoint.currentJwks()).includes(r.published));
  assert.equal(endpoint.keysRefreshDue(), false);
});

test("static keys: rotateKeys rejects keys_ring_not_configured; refreshKeys is a no-op", async () => {
  const authority = new Authority({
    issuer: ISSUER,
    audience: AUDIENCE,
    signingKeys: [generateSigningKey()],
    store: new MemoryStore(),
  });
  await assert.rejects(authority.rotateKeys(), coded("keys_ring_not_configured"));
  await authority.refreshKeys();
  assert.equal(authority.keysRefreshDue(), false);
  assert.equal(authority.keyRingSchedule(), null);
  assert.equal(authority.jwksMaxAge(), 300);
  assert.equal((await authority.currentJwks()).keys.length, 1);
});

test("a ring-managed authority refuses the manual key calls with keys_ring_managed", async () => {
  const authority = await ringAuthority(new MemoryStore(), manualClock());
  assert.throws(() => authority.addSigningKey(generateSigningKey()), coded("keys_ring_managed"));
  assert.throws(() => authority.activateKey(authority.activeKid()), coded("keys_ring_managed"));
});
