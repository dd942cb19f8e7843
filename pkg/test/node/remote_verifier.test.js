// createRemoteVerifier against a real local HTTP server (node:http): the authority's key ring
// rotates while the remote verifier keeps verifying, unknown kids cost at most one fetch per
// cooldown, an outage keeps the last good keys until the stale bound, a slow server times out,
// a 10 MiB JWKS is refused without being read, and a persistent cache seeds a new instance.
// Time is a manual clock shared by authority and verifier; only the fetch timeout is real time.
import assert from "node:assert/strict";
import test from "node:test";
import { Authority, MemoryStore, Verifier, createRemoteVerifier, generateSigningKey, jwks } from "../../dist/node.js";
import { createRemoteVerifier as createRemoteVerifierSmall } from "../../dist/verifier/node.js";
import { AUDIENCE, ISSUER, SEC, assertPackageError, manualClock, tamperSignature } from "./support.js";
import { jwksServer, withKid } from "./remote_server.js";

const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
const RING = { masterSecret: b64url(Array.from({ length: 32 }, (_, i) => i * 7)), rotationInterval: 600, jwksMaxAge: 30, refreshInterval: 5, clockMargin: 5 };

const coded = (code) => (e) => {
  assertPackageError(e, { code });
  return true;
};

/** A static-key authority whose JWKS a local server publishes with `headers`. */
async function staticSetup(headers = { "cache-control": "max-age=86400" }) {
  const clock = manualClock();
  const key = generateSigningKey();
  const authority = new Authority({ issuer: ISSUER, audience: AUDIENCE, signingKeys: [key], store: new MemoryStore(), clock: clock.now });
  const server = await jwksServer(() => ({ body: authority.jwks(), headers }));
  return { clock, key, authority, server };
}

const remote = (server, clock, extra = {}) =>
  createRemoteVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: server.url, clock: clock.now, ...extra });

test("the remote verifier returns Verifier's claims and throws its codes", async (t) => {
  const { clock, authority, server } = await staticSetup();
  t.after(() => server.close());
  const { accessToken } = await authority.issue({ subject: "alice", claims: { role: "admin", n: 2 ** 60 } });
  const local = new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: authority.jwks(), clock: clock.now });
  for (const create of [createRemoteVerifier, createRemoteVerifierSmall]) {
    const v = create({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: server.url, clock: clock.now });
    assert.deepEqual(await v.verify(accessToken), local.verify(accessToken));
    await assert.rejects(v.verify(tamperSignature(accessToken)), coded("token_bad_signature"));
    await assert.rejects(v.verify("not.a.token"), coded("token_malformed"));
    await assert.rejects(v.verify(42), coded("invalid_input"));
    const other = create({ issuer: ISSUER, audience: "other", jwksUrl: server.url, clock: clock.now });
    await assert.rejects(other.verify(accessToken), coded("token_wrong_audience"));
    clock.advance(3600 * SEC);
    await assert.rejects(v.verify(accessToken), coded("token_expired"));
    clock.advance(-3600 * SEC);
    v.free();
    await assert.rejects(v.verify(accessToken), coded("instance_freed"));
  }
  assert.equal(server.state.requests, 4, "one fetch per verifier instance");
});

test("options are checked: unknown keys, bad URLs, a bad fetch, cache or timeout", () => {
  const base = { issuer: ISSUER, audience: AUDIENCE, jwksUrl: "https://auth.example/jwks" };
  const bad = [
    { ...base, nope: 1 },
    { ...base, jwksUrl: "/relative" },
    { ...base, jwksUrl: "ftp://auth.example/jwks" },
    { ...base, fetch: "fetch" },
    { ...base, cache: { get() {} } },
    { ...base, timeoutMs: 0 },
    { ...base, cooldown: 0 },
    { ...base, maxBytes: 10 },
    { ...base, minMaxAge: 600, maxMaxAge: 60 },
  ];
  const { proxy: revoked, revoke } = Proxy.revocable({}, {});
  revoke();
  const throwingGetter = Object.defineProperty({ ...base }, "issuer", { enumerable: true, get: () => { throw new Error("getter"); } });
  bad.push(revoked, throwingGetter, [base], null, "options");
  for (const [n, options] of bad.entries()) {
    assert.throws(() => createRemoteVerifier(options), (e) => {
      assertPackageError(e, { code: ["invalid_input", "config_invalid"] });
      return true;
    }, `case ${n}`);
  }
});

test("(a) the key ring rotates publish → activate → retire while the remote verifier keeps verifying, without a failed verify", async (t) => {
  const clock = manualClock();
  const authority = await Authority.withKeyRing({ issuer: ISSUER, audience: AUDIENCE, accessTokenTtl: 60, clock: clock.now, keyRing: RING }, new MemoryStore());
  const server = await jwksServer(async () => ({
    body: await authority.currentJwks(),
    headers: { "cache-control": `max-age=${authority.jwksMaxAge()}` },
  }));
  t.after(() => server.close());
  const verifier = remote(server, clock);
  const schedule = authority.keyRingSchedule();
  const firstKid = authority.activeKid();
  const seenKids = new Set();
  let previous = null;
  let rotation = null;
  let verified = 0;
  // Two full rotations, in 1 s steps: every step issues a token and verifies it and the
  // previous step's (signed by the old key across each activation).
  const end = clock.t + 2 * 600 * SEC + (schedule.activationDelay + schedule.retirementDelay + 10) * SEC;
  while (clock.t < end) {
    clock.advance(SEC);
    const r = await authority.rotateKeys();
    if (r.published !== null) rotation = r;
    const { accessToken } = await authority.issue({ subject: `s${clock.t}` });
    seenKids.add(authority.activeKid());
    for (const token of [accessToken, previous]) {
      if (token === null) continue;
      const claims = await verifier.verify(token); // a rejection fails the test
      assert.ok(claims.sub.startsWith("s"));
      verified++;
    }
    previous = accessToken;
  }
  assert.ok(rotation !== null, "a successor was published");
  assert.ok(seenKids.size >= 3, `signed with ${seenKids.size} keys`);
  assert.ok(!authority.jwks().keys.some((k) => k.kid === firstKid), "the first key retired");
  // Fetches follow max-age (30 s, refreshed 15 s ahead), not the number of tokens.
  const seconds = (end - manualClock().t) / SEC;
  assert.ok(server.state.requests <= seconds / 15 + 3, `${server.state.requests} fetches for ${verified} verifies in ${seconds} s`);
});

test("(b) 1,000 tokens with random unknown kids cost at most one fetch per cooldown", async (t) => {
  const { clock, authority, server } = await staticSetup();
  t.after(() => server.close());
  const verifier = remote(server, clock, { cooldown: 30 });
  const { accessToken } = await authority.issue({ subject: "alice" });
  await verifier.verify(accessToken);
  assert.equal(server.state.requests, 1);
  const start = clock.t;
  // Sequential, 100 ms apart: 100 s of attack.
  for (let i = 0; i < 1000; i++) {
    clock.advance(100);
    const kid = `rand-${Math.random().toString(36).slice(2)}`;
    await assert.rejects(verifier.verify(withKid(accessToken, kid)), coded("token_unknown_kid"));
  }
  const elapsed = (clock.t - start) / SEC;
  const unknownKidFetches = server.state.requests - 1;
  assert.ok(unknownKidFetches <= Math.floor(elapsed / 30) + 1, `${unknownKidFetches} fetches in ${elapsed} s`);
  assert.ok(unknownKidFetches >= 1, "an unknown kid does refetch once the cooldown allows");
  // Concurrent: 1,000 in flight at once cost at most one more fetch.
  clock.advance(30 * SEC);
  const before = server.state.requests;
  const results = await Promise.allSettled(
    Array.from({ length: 1000 }, (_, i) => verifier.verify(withKid(accessToken, `burst-${i}`))),
  );
  assert.ok(results.every((r) => r.status === "rejected" && r.reason.code === "token_unknown_kid"));
  assert.equal(server.state.requests - before, 1);
  assert.equal((await verifier.verify(accessToken)).sub, "alice", "the real key still verifies");
});

test("a cold verifier under 200 concurrent verifies fetches once (single flight, no shared promise)", async (t) => {
  const { clock, authority, server } = await staticSetup();
  t.after(() => server.close());
  server.state.mode = "slow";
  server.state.delayMs = 50;
  const verifier = remote(server, clock);
  const { accessToken } = await authority.issue({ subject: "alice" });
  const all = await Promise.all(Array.from({ length: 200 }, () => verifier.verify(accessToken)));
  assert.ok(all.every((c) => c.sub === "alice"));
  assert.equal(server.state.requests, 1);
});

test("(c) server down: the last good keys verify until the stale bound, then jwks_stale", async (t) => {
  const { clock, authority, server } = await staticSetup({ "cache-control": "max-age=60" });
  t.after(() => server.close());
  const verifier = remote(server, clock, { staleWindow: 120, cooldown: 10 });
  const fetchedAt = clock.t;
  const token = async () => (await authority.issue({ subject: "alice" })).accessToken;
  await verifier.verify(await token());
  server.state.mode = "down";
  // Lifetime 60 s (refresh from 30 s), stale window 120 s: usable until 180 s.
  for (const at of [31, 45, 60, 100, 179]) {
    clock.set(fetchedAt + at * SEC);
    assert.equal((await verifier.verify(await token())).sub, "alice", `at ${at} s`);
  }
  const downRequests = server.state.requests - 1;
  assert.ok(downRequests >= 2 && downRequests <= 5, `${downRequests} retries, one per cooldown at most`);
  clock.set(fetchedAt + 180 * SEC);
  await assert.rejects(verifier.verify(await token()), coded("jwks_stale"));
  // Back up: the next verify past the cooldown fetches and verifies again.
  server.state.mode = "ok";
  clock.advance(10 * SEC);
  assert.equal((await verifier.verify(await token())).sub, "alice");
});

test("an error status is jwks_bad_status on a cold cache", async (t) => {
  const { clock, authority, server } = await staticSetup();
  t.after(() => server.close());
  server.state.mode = "status";
  const verifier = remote(server, clock);
  const { accessToken } = await authority.issue({ subject: "alice" });
  await assert.rejects(verifier.verify(accessToken), coded("jwks_bad_status"));
  await assert.rejects(verifier.verify(accessToken), coded("jwks_bad_status"), "no refetch within the cooldown");
  assert.equal(server.state.requests, 1);
});

test("(d) a slow server: jwks_timeout after timeoutMs, and the last good keys stay in use", async (t) => {
  const { clock, authority, server } = await staticSetup({ "cache-control": "max-age=60" });
  t.after(() => server.close());
  const { accessToken } = await authority.issue({ subject: "alice" });
  server.state.mode = "slow";
  server.state.delayMs = 2000;
  const cold = remote(server, clock, { timeoutMs: 100 });
  await assert.rejects(cold.verify(accessToken), coded("jwks_timeout"));

  server.state.mode = "ok";
  const warm = remote(server, clock, { timeoutMs: 100 });
  await warm.verify(accessToken);
  server.state.mode = "slow";
  clock.advance(45 * SEC); // past the refresh time, within the lifetime
  assert.equal((await warm.verify(accessToken)).sub, "alice");
});

for (const mode of ["huge", "huge-chunked"]) {
  test(`(e) a 10 MiB JWKS (${mode === "huge" ? "with Content-Length" : "chunked"}) is jwks_too_large, and the connection closes before the server finished writing`, async (t) => {
    const { clock, authority, server } = await staticSetup();
    t.after(() => server.close());
    server.state.mode = mode;
    const verifier = remote(server, clock);
    const { accessToken } = await authority.issue({ subject: "alice" });
    await assert.rejects(verifier.verify(accessToken), coded("jwks_too_large"));
    const huge = server.state.huge;
    // Wait for the server to notice the closed connection (it is writing into a closed socket).
    for (let i = 0; i < 200 && !huge.closedEarly && !huge.finished; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(huge.finished, false, "the server never finished writing the 10 MiB");
    assert.equal(huge.closedEarly, true, "the client closed the connection");
    assert.ok(huge.written < huge.total / 2, `${huge.written} bytes written of ${huge.total}`);
  });
}

test("ETag: a refetch is conditional, and a 304 renews the document", async (t) => {
  const { clock, authority, server } = await staticSetup({ "cache-control": "max-age=60", etag: '"v1"' });
  t.after(() => server.close());
  const stored = new Map();
  const cache = { get: async (k) => stored.get(k) ?? null, put: async (k, v) => void stored.set(k, structuredClone(v)) };
  const verifier = remote(server, clock, { cache });
  const { accessToken } = await authority.issue({ subject: "alice" });
  await verifier.verify(accessToken);
  clock.advance(50 * SEC);
  await verifier.verify(accessToken);
  assert.equal(server.state.conditional, 1);
  assert.equal(server.state.notModified, 1);
  const [entry] = stored.values();
  assert.equal(entry.fetchedAt, clock.t, "the 304 re-stored the document as fetched now");
  assert.equal(entry.headers.etag, '"v1"');
  assert.deepEqual(JSON.parse(entry.body), authority.jwks());
  clock.advance(20 * SEC);
  await verifier.verify(accessToken);
  assert.equal(server.state.requests, 2, "the 304 made the document fresh for another 60 s");
});

test("a persistent cache seeds a new instance: no fetch while the stored document is fresh", async (t) => {
  const { clock, authority, server } = await staticSetup({ "cache-control": "max-age=300" });
  t.after(() => server.close());
  const kv = new Map();
  const cache = {
    async get(key) {
      return kv.has(key) ? JSON.parse(kv.get(key)) : null;
    },
    async put(key, value) {
      kv.set(key, JSON.stringify(value));
    },
  };
  const { accessToken } = await authority.issue({ subject: "alice" });
  await remote(server, clock, { cache }).verify(accessToken);
  assert.equal(server.state.requests, 1);
  assert.equal(kv.size, 1);
  const stored = JSON.parse([...kv.values()][0]);
  assert.equal(stored.fetchedAt, clock.t);
  assert.equal(stored.headers["cache-control"], "max-age=300");

  clock.advance(100 * SEC);
  const second = remote(server, clock, { cache });
  assert.equal((await second.verify(accessToken)).sub, "alice");
  assert.equal(server.state.requests, 1, "the new instance used the stored document");
  // Its lifetime counts from the original fetch: refreshed 30 s before 300 s.
  clock.advance(175 * SEC);
  await second.verify(accessToken);
  assert.equal(server.state.requests, 2);
  // A broken cache is a miss, never a failure.
  const broken = { get: async () => { throw new Error("kv down"); }, put: async () => { throw new Error("kv down"); } };
  assert.equal((await remote(server, clock, { cache: broken }).verify(accessToken)).sub, "alice");
});

test("an injected fetch is used instead of globalThis.fetch", async () => {
  const clock = manualClock();
  const key = generateSigningKey();
  const authority = new Authority({ issuer: ISSUER, audience: AUDIENCE, signingKeys: [key], store: new MemoryStore(), clock: clock.now });
  const calls = [];
  const verifier = createRemoteVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUrl: "https://auth.invalid/jwks",
    clock: clock.now,
    fetch: async (url, init) => {
      calls.push([url, init.headers.accept]);
      return new Response(JSON.stringify(jwks([key])), { headers: { "cache-control": "max-age=60" } });
    },
  });
  const { accessToken } = await authority.issue({ subject: "alice" });
  assert.equal((await verifier.verify(accessToken)).sub, "alice");
  assert.deepEqual(calls, [["https://auth.invalid/jwks", "application/jwk-set+json, application/json"]]);
});
