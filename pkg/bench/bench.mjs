// Node benchmarks of the npm package against its peers, all in this one process, interleaved:
//
//   verify  Verifier.verify            vs jose jwtVerify (local JWKS, and a pre-imported key)
//                                      vs fast-jwt createVerifier (cache off)
//   sign    Authority.issue (a whole session: access + refresh token + store writes)
//                                      vs jose SignJWT alone vs fast-jwt createSigner
//   renew   Authority.renew (a rotation chain)
//                                      vs OpenAuth's refresh-token rotation (issuer().request,
//                                      grant_type=refresh_token, MemoryStorage), in-process
//   size    pkg/wasm/*.wasm raw / gzip / brotli
//   cold    fresh `node` processes: process start → first verified token (bench/cold-child.mjs)
//   memory  1,000,000 verifies + 100,000 renewals in a child with --expose-gc (bench/memory-child.mjs)
//
// Usage (from pkg/):  node bench/bench.mjs [--quick]
// Env overrides: BENCH_ROUNDS, BENCH_SLICE_MS, BENCH_COLD_RUNS, BENCH_MEM_VERIFIES, BENCH_MEM_RENEWALS.
// Writes bench/results/node.json and prints a table. Timings on a shared machine are noisy, so
// contenders run in alternating time slices within the same process and the reported ratio is the
// median of per-round ratios, both by wall clock and by process CPU time (see lib.mjs); a ratio
// target passes only if it holds by both.
import { execFileSync } from "node:child_process";
import { createHash, createPrivateKey, createPublicKey, randomUUID, verify as nodeVerify, generateKeyPairSync } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants as zc, gzipSync } from "node:zlib";

import { Authority, MemoryStore, Verifier, generateSigningKey } from "../dist/node.js";
import { Verifier as EntryVerifier } from "../dist/verifier/node.js"; // webgates-sessions/verifier
import { SignJWT, createLocalJWKSet, importJWK, jwtVerify } from "jose";
import { createSigner, createVerifier } from "fast-jwt";

import { fmt, gc, interleaved, median, pairedRatio, passFail, round, table, writeResults } from "./lib.mjs";

const quick = process.argv.includes("--quick");
const env = (name, dflt) => Number(process.env[name] ?? dflt);
const ROUNDS = env("BENCH_ROUNDS", quick ? 4 : 16);
const SLICE_MS = env("BENCH_SLICE_MS", quick ? 60 : 120);
const WARM_MS = quick ? 100 : 300;
const COLD_RUNS = env("BENCH_COLD_RUNS", quick ? 3 : 15);
const MEM_VERIFIES = env("BENCH_MEM_VERIFIES", quick ? 20_000 : 1_000_000);
const MEM_RENEWALS = env("BENCH_MEM_RENEWALS", quick ? 2_000 : 100_000);

const pkgDir = new URL("../", import.meta.url);
const wasmDir = new URL("wasm/", pkgDir);
if (!existsSync(new URL("webgates_sessions_wasm_bg.wasm", wasmDir))) {
  console.error("bench: pkg/wasm/ is not built: run `node scripts/build.mjs` in pkg/ first");
  process.exit(1);
}
const log = (s) => process.stderr.write(`${s}\n`);

const ISS = "https://auth.example";
const AUD = "api.example";
const SUB = "user-42";
const results = {
  meta: {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    loadavg: { start: loadavg().map((x) => round(x, 2)) }, // 1/5/15-min load averages: the machine is shared
    wasmSha256: createHash("sha256").update(readFileSync(new URL("webgates_sessions_wasm_bg.wasm", wasmDir))).digest("hex"),
    config: { rounds: ROUNDS, sliceMs: SLICE_MS, warmMs: WARM_MS, coldRuns: COLD_RUNS, memVerifies: MEM_VERIFIES, memRenewals: MEM_RENEWALS, quick },
    method:
      "Contenders alternate in time slices within one process (order rotated per round, gc between slices); " +
      "opsPerSec is the median over rounds; ratio is the median of per-round ours/peer ratios.",
  },
};

// ---------------------------------------------------------------------------------------------
// Keys and tokens shared by every contender.

const privateJwk = generateSigningKey();
const { kid } = privateJwk;
const newAuthority = (extra = {}) =>
  new Authority({ issuer: ISS, audience: AUD, signingKeys: [privateJwk], store: new MemoryStore(), ...extra });
const authority = newAuthority();
const jwks = authority.jwks();
const publicJwk = jwks.keys[0];
const publicPem = createPublicKey({ key: publicJwk, format: "jwk" }).export({ type: "spki", format: "pem" });
const publicKeyObject = createPublicKey({ key: publicJwk, format: "jwk" });
const privatePem = createPrivateKey({ key: privateJwk, format: "jwk" }).export({ type: "pkcs8", format: "pem" });

// 64 distinct tokens, used round-robin, so no verifier can profit from seeing the same token.
const TOKENS = [];
for (let i = 0; i < 64; i++) TOKENS.push((await authority.issue({ subject: SUB })).accessToken);

// ---------------------------------------------------------------------------------------------
// verify

const verifier = new Verifier({ issuer: ISS, audience: AUD, jwks }); // leeway 30 s (default)
// The same class from the verifier-only module (its own, size-leaning build profile).
const entryVerifier = new EntryVerifier({ issuer: ISS, audience: AUD, jwks });
const joseJwks = createLocalJWKSet(jwks); // selects by kid, caches the imported CryptoKey
const joseKey = await importJWK(publicJwk, "EdDSA"); // pre-imported CryptoKey
const REQUIRED = ["iss", "sub", "aud", "exp", "iat", "jti", "sid"];
const joseOpts = { issuer: ISS, audience: AUD, algorithms: ["EdDSA"], typ: "at+jwt", requiredClaims: REQUIRED, clockTolerance: 30 };
const fastVerify = createVerifier({
  key: publicPem,
  algorithms: ["EdDSA"],
  allowedIss: ISS,
  allowedAud: AUD,
  checkTyp: "at+jwt",
  requiredClaims: REQUIRED,
  clockTolerance: 30_000, // ms in fast-jwt
  cache: false, // the default; with a cache a repeated token is a hash lookup, not a verification
});

// Sanity: every verifier accepts our tokens and refuses the same bad ones.
{
  const wrongAud = await new Authority({ issuer: ISS, audience: "other", signingKeys: [privateJwk], store: new MemoryStore() }).issue({ subject: SUB });
  const expired = await newAuthority({ clock: () => Date.now() - 3_600_000 }).issue({ subject: SUB });
  const t = TOKENS[0];
  const tampered = t.slice(0, -4) + (t.endsWith("AAAA") ? "BBBB" : "AAAA");
  const checks = {
    ours: (x) => verifier.verify(x),
    oursEntry: (x) => entryVerifier.verify(x),
    jose: (x) => jwtVerify(x, joseJwks, joseOpts),
    "fast-jwt": (x) => fastVerify(x),
  };
  for (const [name, f] of Object.entries(checks)) {
    const r = await f(t);
    if ((r.sub ?? r.payload?.sub) !== SUB) throw new Error(`${name} does not accept a valid token`);
    for (const [what, bad] of Object.entries({ wrongAud: wrongAud.accessToken, expired: expired.accessToken, tampered })) {
      let ok = false;
      try {
        await f(bad);
      } catch {
        ok = true;
      }
      if (!ok) throw new Error(`${name} accepted a ${what} token`);
    }
  }
}

let sink = 0;
let vi = 0;
log("verify…");
const signed = TOKENS.map((t) => {
  const i = t.lastIndexOf(".");
  return { data: Buffer.from(t.slice(0, i)), sig: Buffer.from(t.slice(i + 1), "base64url") };
});
results.verify = await interleaved(
  [
    { id: "ours", label: "webgates Verifier.verify (wasm)", isAsync: false, op: () => (sink += verifier.verify(TOKENS[vi++ & 63]).exp) },
    { id: "oursEntry", label: "webgates Verifier.verify, webgates-sessions/verifier module", isAsync: false, op: () => (sink += entryVerifier.verify(TOKENS[vi++ & 63]).exp) },
    { id: "jose", label: "jose jwtVerify, createLocalJWKSet", isAsync: true, op: async () => (sink += (await jwtVerify(TOKENS[vi++ & 63], joseJwks, joseOpts)).payload.exp) },
    { id: "joseKey", label: "jose jwtVerify, pre-imported CryptoKey", isAsync: true, op: async () => (sink += (await jwtVerify(TOKENS[vi++ & 63], joseKey, joseOpts)).payload.exp) },
    { id: "fastJwt", label: "fast-jwt createVerifier (PEM, cache off)", isAsync: false, op: () => (sink += fastVerify(TOKENS[vi++ & 63]).exp) },
    {
      id: "nodeEd25519",
      label: "reference: node:crypto Ed25519 signature check only (no JWT work)",
      isAsync: false,
      op: () => {
        const s = signed[vi++ & 63];
        sink += nodeVerify(null, s.data, publicKeyObject, s.sig) ? 1 : 0;
      },
    },
  ],
  { rounds: ROUNDS, sliceMs: SLICE_MS, warmMs: WARM_MS },
);
gc();

// ---------------------------------------------------------------------------------------------
// sign

log("sign…");
const joseSigningKey = await importJWK(privateJwk, "EdDSA");
const es256 = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
const fastSign = createSigner({ key: privatePem, algorithm: "EdDSA", kid, header: { typ: "at+jwt" }, iss: ISS, aud: AUD, expiresIn: 300_000 });
const joseSign = (key, alg) => {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: randomUUID(), sid: randomUUID() })
    .setProtectedHeader({ alg, kid, typ: "at+jwt" })
    .setIssuer(ISS)
    .setSubject(SUB)
    .setAudience(AUD)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(key);
};
// Sanity: what the peers sign is an access token our Verifier accepts (same header and claims).
verifier.verify(await joseSign(joseSigningKey, "EdDSA"));
verifier.verify(fastSign({ sub: SUB, jti: randomUUID(), sid: randomUUID() }));

let issuer = null; // a fresh Authority + MemoryStore before every slice keeps the store small
results.sign = await interleaved(
  [
    {
      id: "ours",
      label: "webgates Authority.issue (access + refresh token, 4 store writes, MemoryStore)",
      isAsync: true,
      beforeSlice: () => {
        issuer?.free();
        issuer = newAuthority();
      },
      op: async () => (sink += (await issuer.issue({ subject: SUB })).accessExpiresAt),
    },
    { id: "jose", label: "jose SignJWT alone (EdDSA, imported CryptoKey)", isAsync: true, op: async () => (sink += (await joseSign(joseSigningKey, "EdDSA")).length) },
    { id: "fastJwt", label: "fast-jwt createSigner alone (EdDSA, PEM)", isAsync: false, op: () => (sink += fastSign({ sub: SUB, jti: randomUUID(), sid: randomUUID() }).length) },
    { id: "joseEs256", label: "reference: jose SignJWT ES256 (OpenAuth's algorithm)", isAsync: true, op: async () => (sink += (await joseSign(es256, "ES256")).length) },
  ],
  { rounds: ROUNDS, sliceMs: SLICE_MS, warmMs: WARM_MS },
);
issuer?.free();
gc();

// ---------------------------------------------------------------------------------------------
// renew

log("renew…");
// OpenAuth: its issuer is a Hono app; app.request() runs a Request through it in-process (no
// socket). A tiny provider with client() lets client_credentials start a session (untimed), and
// the timed operation is POST /token grant_type=refresh_token with the newest refresh token:
// storage get, mark-used set, next-token set, ES256 access token, JSON response. Its issuer
// installs hono's logger() with console.log captured at construction: the log lines go to a
// no-op sink (their formatting still runs, as it does in any OpenAuth deployment).
const realLog = console.log;
console.log = () => {};
const { issuer: openauthIssuer } = await import("@openauthjs/openauth");
const { MemoryStorage } = await import("@openauthjs/openauth/storage/memory");
const anySchema = { "~standard": { version: 1, vendor: "bench", validate: (value) => ({ value }) } };
const openauth = openauthIssuer({
  subjects: { user: anySchema },
  storage: MemoryStorage(),
  providers: { bench: { type: "bench", init() {}, client: async ({ clientID }) => ({ clientID }) } },
  success: async (ctx) => ctx.subject("user", { userID: SUB }, { subject: `user:${SUB}` }),
});
console.log = realLog;
const openauthPkg = JSON.parse(readFileSync(new URL("../node_modules/@openauthjs/openauth/package.json", import.meta.url)));
const TOKEN_URL = "http://auth.example/token";
const form = (fields) => ({ method: "POST", body: new URLSearchParams(fields) });
async function openauthLogin() {
  const res = await openauth.request(TOKEN_URL, form({ grant_type: "client_credentials", provider: "bench", client_id: "web", client_secret: "x" }));
  const body = await res.json();
  if (res.status !== 200 || !body.refresh_token) throw new Error(`OpenAuth login failed: ${res.status}`);
  return body.refresh_token;
}
let oaToken = null;
async function openauthRefresh() {
  const res = await openauth.request(TOKEN_URL, form({ grant_type: "refresh_token", refresh_token: oaToken }));
  const body = await res.json();
  if (res.status !== 200) throw new Error(`OpenAuth refresh failed: ${res.status} ${JSON.stringify(body)}`);
  oaToken = body.refresh_token;
  sink += body.access_token.length;
}

// Ours, directly and behind the same Request → formData → JSON Response shape as OpenAuth's
// /token endpoint (to separate HTTP-shaped overhead from the rotation itself).
const renewer = newAuthority();
let ourToken = null;
async function oursRenew() {
  const r = await renewer.renew(ourToken);
  if (r.outcome !== "renewed") throw new Error(`renew: ${r.outcome}`);
  ourToken = r.refreshToken;
  sink += r.accessExpiresAt;
}
async function tokenEndpoint(request) {
  const f = await request.formData();
  if (f.get("grant_type") !== "refresh_token") return Response.json({ error: "unsupported_grant_type" }, { status: 400 });
  const r = await renewer.renew(String(f.get("refresh_token") ?? ""));
  if (r.outcome !== "renewed") return Response.json({ error: "invalid_grant" }, { status: 400 });
  return Response.json({ access_token: r.accessToken, refresh_token: r.refreshToken, expires_in: Math.floor((r.accessExpiresAt - Date.now()) / 1000) });
}
async function oursRenewHttp() {
  const res = await tokenEndpoint(new Request(TOKEN_URL, form({ grant_type: "refresh_token", refresh_token: ourToken })));
  const body = await res.json();
  if (res.status !== 200) throw new Error(`renew via endpoint: ${res.status}`);
  ourToken = body.refresh_token;
  sink += body.access_token.length;
}
// Sanity: both rotate (a new token each time), and both refuse a token used past its grace.
{
  oaToken = await openauthLogin();
  const first = oaToken;
  await openauthRefresh();
  if (oaToken === first) throw new Error("OpenAuth did not rotate");
  ourToken = (await renewer.issue({ subject: SUB })).refreshToken;
  const ours0 = ourToken;
  await oursRenew();
  if (ourToken === ours0) throw new Error("webgates did not rotate");
}

results.renew = await interleaved(
  [
    {
      id: "ours",
      label: "webgates Authority.renew (rotation chain, MemoryStore)",
      isAsync: true,
      beforeSlice: async () => (ourToken = (await renewer.issue({ subject: SUB })).refreshToken),
      op: oursRenew,
    },
    {
      id: "oursHttp",
      label: "webgates renew behind a Request→formData→Response.json /token handler",
      isAsync: true,
      beforeSlice: async () => (ourToken = (await renewer.issue({ subject: SUB })).refreshToken),
      op: oursRenewHttp,
    },
    {
      id: "openauth",
      label: `OpenAuth ${openauthPkg.version} issuer().request POST /token refresh_token (MemoryStorage, ES256)`,
      isAsync: true,
      beforeSlice: async () => (oaToken = await openauthLogin()),
      op: openauthRefresh,
    },
  ],
  { rounds: ROUNDS, sliceMs: SLICE_MS, warmMs: WARM_MS },
);
results.meta.loadavg.afterThroughput = loadavg().map((x) => round(x, 2));
results.renew.notes = [
  "Each renewal presents the newest refresh token, so each one is a real rotation; a new chain starts (untimed) before every slice.",
  "OpenAuth is driven in-process through its Hono app (issuer(...).request), not over a socket. Its MemoryStorage is a sorted array " +
    "(binary search with localeCompare, splice on insert) that keeps every used token until its reuse window expires, so it grows by one " +
    "entry per rotation over the run; webgates' MemoryStore updates the session record in place.",
  "OpenAuth signs ES256 (not configurable); webgates signs EdDSA. See sign.joseEs256 for the cost of that signature alone.",
  "Both keep the previous refresh token usable for a 60 s reuse/grace window and return the same successor refresh token on reuse. " +
    "After the window webgates detects the replay and revokes the family; OpenAuth (default retention 0) has dropped the used token " +
    "by then, so a late replay is merely rejected, and only with retention > 0 does it revoke all of the subject's refresh tokens.",
];
gc();

// ---------------------------------------------------------------------------------------------
// size

const KiB = 1024;
const wasmFiles = readdirSync(wasmDir).filter((f) => f.endsWith(".wasm"));
results.size = {};
for (const f of [...wasmFiles, "webgates_sessions_wasm.js"]) {
  const bytes = readFileSync(new URL(f, wasmDir));
  results.size[f] = {
    raw: bytes.length,
    gzip: gzipSync(bytes).length, // zlib default level 6, as scripts/build.mjs reports
    gzip9: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, { params: { [zc.BROTLI_PARAM_QUALITY]: 11 } }).length,
  };
}

// ---------------------------------------------------------------------------------------------
// cold start

log("cold start…");
const childPath = fileURLToPath(new URL("./cold-child.mjs", import.meta.url));
const childEnv = {
  ...process.env,
  BENCH_TOKEN: TOKENS[0],
  BENCH_JWKS: JSON.stringify(jwks),
  BENCH_ISS: ISS,
  BENCH_AUD: AUD,
  BENCH_PEM: publicPem,
};
const modes = ["empty", "ours", "ours-verifier", "ours-compile", "jose", "fast-jwt"];
const runs = Object.fromEntries(modes.map((m) => [m, []]));
for (let i = 0; i < COLD_RUNS + 1; i++) {
  for (let k = 0; k < modes.length; k++) {
    const mode = modes[(i + k) % modes.length];
    const t0 = process.hrtime.bigint();
    const out = JSON.parse(execFileSync(process.execPath, [childPath, mode], { env: childEnv, encoding: "utf8", cwd: fileURLToPath(pkgDir) }));
    out.spawnToDoneMs = Number(BigInt(out.hrDone) - t0) / 1e6;
    if (i > 0) runs[mode].push(out); // the first pass only warms the OS page cache
  }
}
const med = (xs, f) => round(median(xs.map(f)), 2);
results.coldStart = { runs: COLD_RUNS, note: "ms; medians over fresh node processes (interleaved modes; one unrecorded warm-up pass for the page cache)" };
for (const m of modes) {
  const xs = runs[m];
  results.coldStart[m] = {
    processStartToDoneMs: med(xs, (x) => x.doneMs),
    processStartToEntryMs: med(xs, (x) => x.entryMs),
    entryToDoneMs: med(xs, (x) => x.doneMs - x.entryMs),
    spawnToDoneMs: med(xs, (x) => x.spawnToDoneMs),
    ...(m === "ours-compile"
      ? { readMs: med(xs, (x) => x.readMs), compileMs: med(xs, (x) => x.compileMs), instantiateMs: med(xs, (x) => x.instantiateMs), compileInstantiateMs: med(xs, (x) => x.compileInstantiateMs) }
      : {}),
    ...(xs[0]?.importedMs !== undefined ? { entryToImportedMs: med(xs, (x) => x.importedMs - x.entryMs) } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// memory

log(`memory (${MEM_VERIFIES} verifies, ${MEM_RENEWALS} renewals)…`);
const memPath = fileURLToPath(new URL("./memory-child.mjs", import.meta.url));
const mem = JSON.parse(
  execFileSync(process.execPath, ["--expose-gc", memPath, String(MEM_VERIFIES), String(MEM_RENEWALS)], { encoding: "utf8", cwd: fileURLToPath(pkgDir), maxBuffer: 1 << 24 }),
);
const warm = mem.samples[0];
const lastVerify = mem.samples.filter((s) => s.phase === "verify").at(-1);
const lastRenew = mem.samples.filter((s) => s.phase === "renew").at(-1);
const delta = (a, b) => Object.fromEntries(["rss", "heapUsed", "external", "arrayBuffers", "wasmMemory", "storeKeys"].map((k) => [k, b[k] - a[k]]));
const verifyGrowth = delta(warm, lastVerify);
const renewGrowth = delta(lastVerify, lastRenew);
const totalGrowth = delta(warm, lastRenew);
// "Flat": the wasm linear memory does not grow after warm-up, the store holds the same number of
// records, and the least-squares slope of JS heapUsed + external over the samples of a phase stays
// under 0.5 byte per verify / 8 bytes per renewal (leaking one small allocation per call would be
// ≥ 16–32 bytes per call). Endpoint deltas are reported as well.
function slope(points) {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  const num = points.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0);
  const den = points.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}
const js = (s) => s.heapUsed + s.external;
const verifyPoints = [warm, ...mem.samples.filter((s) => s.phase === "verify")].map((s) => [s.done, js(s)]);
const renewPoints = [lastVerify, ...mem.samples.filter((s) => s.phase === "renew")].map((s, i) => [i === 0 ? 0 : s.done, js(s)]);
const bytesPerVerify = slope(verifyPoints);
const bytesPerRenewal = slope(renewPoints);
// Below 200k verifies / 20k renewals (--quick) heap noise (±100 KiB) swamps a per-call slope.
const conclusive = mem.verifies >= 200_000 && mem.renewals >= 20_000;
const flatVerify = verifyGrowth.wasmMemory === 0 && bytesPerVerify < 0.5;
const flatRenew = renewGrowth.wasmMemory === 0 && renewGrowth.storeKeys === 0 && bytesPerRenewal < 8;
results.memory = {
  verifies: mem.verifies,
  renewals: mem.renewals,
  verifySeconds: round(mem.verifySeconds, 1),
  renewSeconds: round(mem.renewSeconds, 1),
  verifyGrowth,
  renewGrowth,
  totalGrowth,
  jsBytesPerVerify: round(bytesPerVerify, 3),
  jsBytesPerRenewal: round(bytesPerRenewal, 2),
  flat: conclusive ? flatVerify && flatRenew : null,
  samples: mem.samples,
  note: "bytes, after a forced gc; wasmMemory is the wasm linear memory (WebAssembly.Memory buffer size) read through the glue",
};

// ---------------------------------------------------------------------------------------------
// targets

// Every ratio twice: wall clock (w) and CPU time (c); see bench/lib.mjs interleaved(). A ratio
// target passes only if it holds by both measures.
const both = (group, ours, peer) => ({ wall: pairedRatio(group, ours, peer), cpu: pairedRatio(group, ours, peer, true) });
results.ratios = {
  verify: Object.fromEntries(["oursEntry", "jose", "joseKey", "fastJwt", "nodeEd25519"].map((p) => [p, both(results.verify, "ours", p)])),
  verifyEntry: Object.fromEntries(["jose", "joseKey", "fastJwt", "ours"].map((p) => [p, both(results.verify, "oursEntry", p)])),
  sign: Object.fromEntries(["jose", "fastJwt", "joseEs256"].map((p) => [p, both(results.sign, "ours", p)])),
  renew: { openauth: both(results.renew, "ours", "openauth"), oursHttp: both(results.renew, "ours", "oursHttp"), oursHttpVsOpenauth: both(results.renew, "oursHttp", "openauth") },
};
const minOf = (a, b) => ({ wall: Math.min(a.wall, b.wall), cpu: Math.min(a.cpu, b.cpu) });
const R = {
  verifyVsJose: minOf(results.ratios.verify.jose, results.ratios.verify.joseKey),
  verifyVsFast: results.ratios.verify.fastJwt,
  entryVsJose: minOf(results.ratios.verifyEntry.jose, results.ratios.verifyEntry.joseKey),
  entryVsFast: results.ratios.verifyEntry.fastJwt,
  issueVsJose: results.ratios.sign.jose,
  renewVsOpenauth: results.ratios.renew.openauth,
};
const ratioTarget = (name, r, target) => ({ name, value: `${r.wall}× wall, ${r.cpu}× cpu`, wall: r.wall, cpu: r.cpu, target, pass: r.wall >= target && r.cpu >= target });
const wasmGzip = results.size["webgates_sessions_wasm_bg.wasm"].gzip;
const verifierGzip = results.size["webgates_sessions_verifier_bg.wasm"].gzip;
const cold = results.coldStart.ours;
const coldVerifier = results.coldStart["ours-verifier"];
results.targets = [
  ratioTarget("verify ≥ 1.6 × jose (the faster jose variant)", R.verifyVsJose, 1.6),
  ratioTarget("verify ≥ 1.0 × fast-jwt", R.verifyVsFast, 1.0),
  ratioTarget("  (verifier-only module) verify ≥ 1.6 × jose", R.entryVsJose, 1.6),
  ratioTarget("  (verifier-only module) verify ≥ 1.0 × fast-jwt", R.entryVsFast, 1.0),
  ratioTarget("issue ≥ 1.5 × jose SignJWT alone", R.issueVsJose, 1.5),
  ratioTarget("renew ≥ 4 × OpenAuth refresh rotation", R.renewVsOpenauth, 4),
  { name: "shipped wasm ≤ 150 KiB gzip", value: `${round(wasmGzip / KiB, 1)} KiB`, target: 150, pass: wasmGzip <= 150 * KiB },
  { name: "  (verifier-only module, webgates-sessions/verifier)", value: `${round(verifierGzip / KiB, 1)} KiB`, target: 150, pass: verifierGzip <= 150 * KiB },
  { name: "first verified token ≤ 15 ms from process start", value: `${cold.processStartToDoneMs} ms`, target: 15, pass: cold.processStartToDoneMs <= 15 },
  { name: "  (library part: first line of user code → first verified token)", value: `${cold.entryToDoneMs} ms`, target: 15, pass: cold.entryToDoneMs <= 15 },
  { name: "  (library part, verifier-only entry point)", value: `${coldVerifier.entryToDoneMs} ms`, target: 15, pass: coldVerifier.entryToDoneMs <= 15 },
  { name: `memory flat (${mem.verifies} verifies, ${mem.renewals} renewals)`, value: results.memory.flat === null ? "not judged (too few calls)" : results.memory.flat ? "flat" : "grows", target: "flat", pass: results.memory.flat },
];
results.sinkChecked = sink !== 0;
results.meta.loadavg.end = loadavg().map((x) => round(x, 2));

const file = writeResults("node.json", results);

// ---------------------------------------------------------------------------------------------
// print

const groupRows = (group, ratios) =>
  Object.entries(group)
    .filter(([, v]) => v && typeof v === "object" && "opsPerSec" in v)
    .map(([id, v]) => [
      v.label,
      fmt(v.opsPerSec),
      fmt(v.usPerOp),
      id === "ours" ? "1" : ratios[id] ? `${ratios[id].wall}×` : "",
      fmt(v.cpuUsPerOp),
      id === "ours" ? "1" : ratios[id] ? `${ratios[id].cpu}×` : "",
    ]);
const head = (name) => [name, "ops/s", "µs/op", "ours ÷ this", "cpu µs/op", "ours ÷ this (cpu)"];
const out = [];
out.push(`webgates-sessions Node benchmarks — ${process.version}, ${cpus().length} CPUs, ${ROUNDS} rounds × ${SLICE_MS} ms slices, load average ${results.meta.loadavg.start[0]} → ${results.meta.loadavg.afterThroughput[0]} (throughput) → ${results.meta.loadavg.end[0]}`);
out.push("(wall clock: median over rounds; cpu: per CPU-second of the whole process; ratios: median of per-round ratios, > 1 = ours faster)\n");
out.push(table(head("verify"), groupRows(results.verify, results.ratios.verify)));
out.push("");
out.push(table(head("sign"), groupRows(results.sign, results.ratios.sign)));
out.push("");
out.push(table(head("renew"), groupRows(results.renew, { openauth: results.ratios.renew.openauth, oursHttp: results.ratios.renew.oursHttp })));
const oh = results.ratios.renew.oursHttpVsOpenauth;
out.push(`  (ours behind the same Request/Response shape ÷ OpenAuth: ${oh.wall}× wall, ${oh.cpu}× cpu)`);
out.push("");
out.push(
  table(
    ["size", "raw", "gzip", "gzip -9", "brotli"],
    Object.entries(results.size).map(([f, s]) => [f, fmt(s.raw), fmt(s.gzip), fmt(s.gzip9), fmt(s.brotli)]),
  ),
);
out.push("");
out.push(
  table(
    ["cold start (ms, median)", "start→done", "start→entry", "entry→done", "spawn→done"],
    modes.map((m) => {
      const c = results.coldStart[m];
      return [m, fmt(c.processStartToDoneMs), fmt(c.processStartToEntryMs), fmt(c.entryToDoneMs), fmt(c.spawnToDoneMs)];
    }),
  ),
);
const cc = results.coldStart["ours-compile"];
out.push(`  wasm alone: read ${fmt(cc.readMs)} ms, compile ${fmt(cc.compileMs)} ms, instantiate ${fmt(cc.instantiateMs)} ms (compile+instantiate ${fmt(cc.compileInstantiateMs)} ms)`);
out.push("");
const mb = (x) => `${x >= 0 ? "+" : ""}${round(x / 1048576, 2)} MiB`;
out.push(
  table(
    ["memory growth", "rss", "heapUsed", "external", "arrayBuffers", "wasm memory", "store keys"],
    [
      [`${mem.verifies} verifies`, ...["rss", "heapUsed", "external", "arrayBuffers", "wasmMemory"].map((k) => mb(verifyGrowth[k])), String(verifyGrowth.storeKeys)],
      [`${mem.renewals} renewals`, ...["rss", "heapUsed", "external", "arrayBuffers", "wasmMemory"].map((k) => mb(renewGrowth[k])), String(renewGrowth.storeKeys)],
    ],
  ),
);
out.push(`  trend of JS heapUsed+external: ${round(bytesPerVerify, 3)} B/verify, ${round(bytesPerRenewal, 2)} B/renewal (flat if < 0.5 and < 8, and no wasm-memory or store growth)`);
out.push(`  wasm memory ${round(lastRenew.wasmMemory / 1048576, 2)} MiB, rss ${round(lastRenew.rss / 1048576, 1)} MiB at the end; ${results.memory.verifySeconds} s of verifies, ${results.memory.renewSeconds} s of renewals`);
out.push("");
out.push(table(["target", "value", "target", "result"], results.targets.map((t) => [t.name, t.value, `${t.target}`, passFail(t.pass)])));
out.push(`\nwrote ${fileURLToPath(file)}`);
console.log(out.join("\n"));
