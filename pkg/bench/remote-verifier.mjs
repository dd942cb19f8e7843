// The remote verifier: warm-cache cost against Verifier.verify, and fetches per 1,000
// unknown-kid tokens for ours, jose's createRemoteJWKSet and webgates-codecs' documented policy.
//
//   warm     createRemoteVerifier().verify (document cached, max-age 1 day)
//            vs Verifier.verify (sync) and vs Verifier.verify awaited (the cost of being async)
//   storm    1,000 tokens with random unknown kids against a node:http JWKS endpoint that counts
//            requests: as a burst (1,000 concurrent, 31 s after the first fetch) and spread over
//            100 s (100 ms apart); time is simulated by overriding Date.now for every contender
//            (jose reads Date.now). webgates-codecs'
//            RemoteJwksVerifier is Rust and documents "refetch on every unknown kid": it is
//            modelled here by a verifier that refetches on each unknown kid, not run.
//
// Usage (from pkg/):  node bench/remote-verifier.mjs [--quick]
// Env overrides: BENCH_ROUNDS, BENCH_SLICE_MS. Writes bench/results/remote-verifier.json.
import { loadavg } from "node:os";

import { Authority, MemoryStore, Verifier, createRemoteVerifier, generateSigningKey } from "../dist/node.js";
import { createRemoteJWKSet, jwtVerify } from "jose";

import { jwksServer, withKid } from "../test/node/remote_server.js";
import { fmt, interleaved, pairedRatio, passFail, round, table, writeResults } from "./lib.mjs";

const quick = process.argv.includes("--quick");
const env = (name, dflt) => Number(process.env[name] ?? dflt);
const ROUNDS = env("BENCH_ROUNDS", quick ? 4 : 12);
const SLICE_MS = env("BENCH_SLICE_MS", quick ? 60 : 120);
const WARM_MS = quick ? 100 : 300;
const log = (s) => process.stderr.write(`${s}\n`);

const ISS = "https://auth.example";
const AUD = "api.example";
const key = generateSigningKey();
const authority = new Authority({ issuer: ISS, audience: AUD, signingKeys: [key], store: new MemoryStore() });
const jwks = authority.jwks();
const server = await jwksServer(() => ({ body: jwks, headers: { "cache-control": "max-age=86400" } }));

const TOKENS = [];
for (let i = 0; i < 64; i++) TOKENS.push((await authority.issue({ subject: `user-${i}` })).accessToken);

// ---------------------------------------------------------------------------------------------
// warm

const local = new Verifier({ issuer: ISS, audience: AUD, jwks });
const remote = createRemoteVerifier({ issuer: ISS, audience: AUD, jwksUrl: server.url });
await remote.verify(TOKENS[0]);
let i = 0;
let j = 0;
let k = 0;
log(`warm: ${ROUNDS} rounds × ${SLICE_MS} ms`);
const warm = await interleaved(
  [
    { id: "remote", label: "createRemoteVerifier().verify (warm)", op: () => remote.verify(TOKENS[i++ & 63]), isAsync: true },
    { id: "local", label: "Verifier.verify", op: () => local.verify(TOKENS[j++ & 63]), isAsync: false },
    { id: "localAwait", label: "await Verifier.verify", op: async () => local.verify(TOKENS[k++ & 63]), isAsync: true },
  ],
  { rounds: ROUNDS, sliceMs: SLICE_MS, warmMs: WARM_MS },
);
const warmFetches = server.state.requests;
const ratio = {
  vsSync: pairedRatio(warm, "remote", "local"),
  vsSyncCpu: pairedRatio(warm, "remote", "local", true),
  vsAwaited: pairedRatio(warm, "remote", "localAwait"),
  vsAwaitedCpu: pairedRatio(warm, "remote", "localAwait", true),
};

// ---------------------------------------------------------------------------------------------
// storm

const base = TOKENS[0];
const unknown = Array.from({ length: 1000 }, (_, n) => withKid(base, `rand-${n}-${Math.random().toString(36).slice(2)}`));

/** webgates-codecs' documented policy, modelled: every unknown kid refetches the JWKS. */
function refetchEveryUnknownKid(url) {
  let verifier = null;
  const load = async () => {
    const res = await fetch(url);
    verifier = new Verifier({ issuer: ISS, audience: AUD, jwks: await res.json() });
  };
  return {
    async verify(token) {
      if (verifier === null) await load();
      try {
        return verifier.verify(token);
      } catch (e) {
        if (e.code !== "token_unknown_kid") throw e;
        await load();
        return verifier.verify(token);
      }
    },
  };
}

const contenders = {
  ours: () => {
    const v = createRemoteVerifier({ issuer: ISS, audience: AUD, jwksUrl: server.url, clock: () => Date.now() });
    return (t) => v.verify(t);
  },
  jose: () => {
    const set = createRemoteJWKSet(new URL(server.url));
    return (t) => jwtVerify(t, set, { issuer: ISS, audience: AUD });
  },
  codecsModel: () => {
    const v = refetchEveryUnknownKid(server.url);
    return (t) => v.verify(t);
  },
};

async function storm(name, spreadMs) {
  const realNow = Date.now;
  let fake = realNow();
  Date.now = () => fake;
  try {
    const verify = contenders[name]();
    await verify(base); // warm: the first fetch
    const before = server.state.requests;
    let failures = 0;
    if (spreadMs === 0) {
      // All at once, one cooldown after the first fetch: each contender may fetch again.
      fake += 31_000;
      const r = await Promise.allSettled(unknown.map((t) => verify(t)));
      failures = r.filter((x) => x.status === "rejected").length;
    } else {
      for (const t of unknown) {
        fake += spreadMs;
        await verify(t).catch(() => failures++);
      }
    }
    return { fetches: server.state.requests - before, rejected: failures };
  } finally {
    Date.now = realNow;
  }
}

const storms = {};
for (const name of Object.keys(contenders)) {
  storms[name] = { burst: await storm(name, 0), spread100s: await storm(name, 100) };
  log(`storm ${name}: ${JSON.stringify(storms[name])}`);
}
await server.close();

const target = ratio.vsSync >= 0.95 && ratio.vsSyncCpu >= 0.95;
const results = {
  date: new Date().toISOString(),
  loadavg: loadavg().map((x) => round(x, 2)),
  rounds: ROUNDS,
  sliceMs: SLICE_MS,
  warm,
  warmFetches,
  ratio,
  targetWithin5Percent: target,
  storms,
  notes: {
    codecsModel: "webgates-codecs RemoteJwksVerifier is not run: its documented policy (refetch on every unknown kid) is modelled by refetchEveryUnknownKid()",
    burst: "1,000 concurrent verifies, 31 s (simulated) after the first fetch",
    spread100s: "1,000 tokens 100 ms apart in simulated time (Date.now overridden), cooldown 30 s for ours and jose",
  },
};
const file = writeResults("remote-verifier.json", results);

console.log(
  table(
    ["verify (warm cache)", "ops/s", "µs/op", "CPU µs/op"],
    Object.values(warm).map((r) => [r.label, fmt(r.opsPerSec), fmt(r.usPerOp), fmt(r.cpuUsPerOp)]),
  ),
);
console.log(`\nremote / Verifier.verify: ${ratio.vsSync} wall, ${ratio.vsSyncCpu} CPU (target ≥ 0.95: ${passFail(target)}); ` +
  `remote / awaited Verifier.verify: ${ratio.vsAwaited} wall, ${ratio.vsAwaitedCpu} CPU; fetches during the warm run: ${warmFetches - 1}\n`);
console.log(
  table(
    ["fetches per 1,000 unknown-kid tokens", "burst", "over 100 s"],
    [
      ["ours (cooldown 30 s)", storms.ours.burst.fetches, storms.ours.spread100s.fetches],
      ["jose createRemoteJWKSet (cooldown 30 s)", storms.jose.burst.fetches, storms.jose.spread100s.fetches],
      ["webgates-codecs policy (modelled)", storms.codecsModel.burst.fetches, storms.codecsModel.spread100s.fetches],
    ],
  ),
);
console.log(`\nwrote ${file.pathname}`);
