// createRemoteVerifier on Deno against a real Deno.serve JWKS endpoint: the key ring rotates
// while tokens keep verifying, unknown kids cost at most one fetch per cooldown, a slow server
// is jwks_timeout. Time is a manual clock; only the fetch timeout is real time.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Authority, MemoryStore, createRemoteVerifier } from "../../dist/deno.js";
import { createRemoteVerifier as createSmall } from "../../dist/verifier/deno.js";
import { AUDIENCE, ISSUER, manualClock, rejection } from "./_helpers.js";

const SEC = 1000;
const RING = {
  masterSecret: Buffer.from(Array.from({ length: 32 }, (_, i) => i * 3)).toString("base64url"),
  rotationInterval: 600,
  jwksMaxAge: 30,
  refreshInterval: 5,
  clockMargin: 5,
};

/** A Deno.serve JWKS endpoint counting requests; `state.delayMs` delays every answer. */
async function serveJwks(authority) {
  const state = { requests: 0, delayMs: 0 };
  const controller = new AbortController();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, signal: controller.signal, onListen() {} }, async () => {
    state.requests++;
    if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
    return Response.json(await authority.currentJwks(), { headers: { "cache-control": `max-age=${authority.jwksMaxAge()}` } });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/.well-known/jwks.json`,
    state,
    async close() {
      controller.abort();
      await server.finished;
    },
  };
}

function withKid(token, kid) {
  const [h, p, s] = token.split(".");
  const header = { ...JSON.parse(Buffer.from(h, "base64url").toString()), kid };
  return `${Buffer.from(JSON.stringify(header)).toString("base64url")}.${p}.${s}`;
}

const ringAuthority = (clock) =>
  Authority.withKeyRing({ issuer: ISSUER, audience: AUDIENCE, accessTokenTtl: 60, clock, keyRing: RING }, new MemoryStore());

Deno.test("remote verifier (Deno): the ring rotates twice while every old and new token verifies", async () => {
  const clock = manualClock();
  const authority = await ringAuthority(clock);
  const server = await serveJwks(authority);
  try {
    for (const create of [createRemoteVerifier, createSmall]) {
      const verifier = create({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: server.url, clock });
      const kidsSeen = new Set();
      let previous = null;
      const end = clock() + 2 * 600 * SEC + 200 * SEC;
      while (clock() < end) {
        clock.advance(SEC);
        await authority.rotateKeys();
        const { accessToken } = await authority.issue({ subject: "alice" });
        kidsSeen.add(authority.activeKid());
        assert.equal((await verifier.verify(accessToken)).sub, "alice");
        if (previous !== null) assert.equal((await verifier.verify(previous)).sub, "alice");
        previous = accessToken;
      }
      assert.ok(kidsSeen.size >= 3, `${kidsSeen.size} signing keys`);
      verifier.free();
    }
    assert.ok(server.state.requests < 2 * (1400 / 15 + 3), `${server.state.requests} fetches`);
  } finally {
    await server.close();
  }
});

Deno.test("remote verifier (Deno): 1,000 unknown kids cost at most one fetch per cooldown", async () => {
  const clock = manualClock();
  const authority = await ringAuthority(clock);
  const server = await serveJwks(authority);
  try {
    const verifier = createRemoteVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: server.url, clock, cooldown: 30, minMaxAge: 600, defaultMaxAge: 600, maxMaxAge: 600 });
    const { accessToken } = await authority.issue({ subject: "alice" });
    await verifier.verify(accessToken);
    const start = clock();
    for (let i = 0; i < 1000; i++) {
      clock.advance(100);
      const e = await rejection(verifier.verify(withKid(accessToken, `rand-${i}-${Math.random()}`)));
      assert.equal(e.code, "token_unknown_kid");
    }
    const fetches = server.state.requests - 1;
    const elapsed = (clock() - start) / SEC;
    assert.ok(fetches >= 1 && fetches <= Math.floor(elapsed / 30) + 1, `${fetches} fetches in ${elapsed} s`);
  } finally {
    await server.close();
  }
});

Deno.test("remote verifier (Deno): a slow server is jwks_timeout", async () => {
  const clock = manualClock();
  const authority = await ringAuthority(clock);
  const server = await serveJwks(authority);
  server.state.delayMs = 1500;
  try {
    const verifier = createRemoteVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl: server.url, clock, timeoutMs: 100 });
    const { accessToken } = await authority.issue({ subject: "alice" });
    const e = await rejection(verifier.verify(accessToken));
    assert.equal(e.code, "jwks_timeout");
  } finally {
    await server.close();
  }
});
