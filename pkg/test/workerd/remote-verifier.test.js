// createRemoteVerifier inside workerd (Miniflare), fetching the JWKS from a node:http server in
// this test process on 127.0.0.1: the key ring rotates while every token verifies, 1,000 unknown
// kids (sequential, then a burst of concurrent requests, each awaiting only its own I/O) cost at
// most one fetch per cooldown, and a slow server is jwks_timeout. The worker's clock is the
// test's manual clock, sent with every request.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { Authority, MemoryStore } from "../../dist/node.js";
import { modulesRules, repoRoot } from "./miniflare.js";
import { manualClock } from "../node/support.js";
import { jwksServer, withKid } from "../node/remote_server.js";

const ISSUER = "https://auth.example";
const AUDIENCE = "api.example";
const SEC = 1000;
const RING = {
  masterSecret: Buffer.from(Array.from({ length: 32 }, (_, i) => 99 - i)).toString("base64url"),
  rotationInterval: 600,
  jwksMaxAge: 30,
  refreshInterval: 5,
  clockMargin: 5,
};
let mf;
let clock;
let authority;
let server;

before(async () => {
  clock = manualClock();
  authority = await Authority.withKeyRing({ issuer: ISSUER, audience: AUDIENCE, accessTokenTtl: 60, clock: clock.now, keyRing: RING }, new MemoryStore());
  server = await jwksServer(async () => ({
    body: await authority.currentJwks(),
    headers: { "cache-control": `max-age=${authority.jwksMaxAge()}` },
  }));
  mf = new Miniflare({
    modules: true,
    scriptPath: fileURLToPath(new URL("./remote-worker.js", import.meta.url)),
    modulesRoot: repoRoot,
    modulesRules,
    bindings: { ISSUER, AUDIENCE },
    compatibilityDate: "2025-01-01",
  });
  await mf.ready;
});

after(async () => {
  await mf?.dispose();
  await server?.close();
});

async function verify(name, token, query = "") {
  const url = `http://resource.test/verify?v=${name}&jwks=${encodeURIComponent(server.url)}${query}`;
  const res = await mf.dispatchFetch(url, { headers: { authorization: `Bearer ${token}`, "x-now": String(clock.t) } });
  return { status: res.status, body: await res.json() };
}

test("workerd: the key ring rotates (publish → activate → retire) while every old and new token verifies", async () => {
  const before = server.state.requests;
  const firstKid = authority.activeKid();
  const kids = new Set();
  let previous = null;
  const end = clock.t + 2 * 600 * SEC + 200 * SEC;
  while (clock.t < end) {
    clock.advance(5 * SEC);
    await authority.rotateKeys();
    const { accessToken } = await authority.issue({ subject: "alice" });
    kids.add(authority.activeKid());
    for (const token of previous === null ? [accessToken] : [accessToken, previous]) {
      const r = await verify("rotation", token);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.sub, "alice");
    }
    previous = accessToken;
  }
  assert.ok(kids.size >= 3, `${kids.size} signing keys`);
  assert.ok(!authority.jwks().keys.some((k) => k.kid === firstKid), "the first key retired");
  const fetches = server.state.requests - before;
  assert.ok(fetches <= 1400 / 15 + 3, `${fetches} fetches`);
});

test("workerd: 1,000 unknown kids cost at most one fetch per cooldown, across concurrent requests too", async () => {
  const { accessToken } = await authority.issue({ subject: "alice" });
  assert.equal((await verify("storm", accessToken)).status, 200);
  const before = server.state.requests;
  const start = clock.t;
  for (let i = 0; i < 1000; i++) {
    clock.advance(100);
    const r = await verify("storm", withKid(accessToken, `rand-${i}-${Math.random()}`));
    assert.equal(r.body.code, "token_unknown_kid");
  }
  const elapsed = (clock.t - start) / SEC;
  const fetches = server.state.requests - before;
  // The document's own refresh (max-age 30 s, 15 s ahead) also fetches; together still at most
  // one per 15 s, whatever the number of tokens.
  assert.ok(fetches <= Math.floor(elapsed / 15) + 1, `${fetches} fetches in ${elapsed} s`);

  // A burst of 200 concurrent requests with unknown kids after the cooldown: one fetch, each
  // request awaiting only its own I/O (a shared promise would hang or throw across requests).
  clock.advance(31 * SEC);
  const burstBefore = server.state.requests;
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => verify("storm", withKid(accessToken, `burst-${i}`))));
  assert.ok(results.every((r) => r.body.code === "token_unknown_kid"), JSON.stringify(results.find((r) => r.body.code !== "token_unknown_kid")));
  assert.ok(server.state.requests - burstBefore <= 1, `${server.state.requests - burstBefore} fetches`);
  assert.equal((await verify("storm", (await authority.issue({ subject: "bob" })).accessToken)).body.sub, "bob");
});

test("workerd: a slow server is jwks_timeout", async () => {
  const { accessToken } = await authority.issue({ subject: "alice" });
  server.state.mode = "slow";
  server.state.delayMs = 2000;
  try {
    const r = await verify("slow", accessToken, "&timeoutMs=200");
    assert.equal(r.status, 401);
    assert.equal(r.body.code, "jwks_timeout", JSON.stringify(r.body));
  } finally {
    server.state.mode = "ok";
  }
});
