// The example Worker (examples/worker/worker.js: webgates-sessions/hono, authority in a Durable
// Object) inside workerd through Miniflare, measured from outside over HTTP on 127.0.0.1, against
// a no-auth baseline Worker with the same routes and topology (bench/baseline-worker.js) and the
// hand-written Worker the example was before the HTTP layer (bench/handwritten-worker.js).
//
//   node bench/worker-bench.mjs [--quick]        (from pkg/; needs pkg/wasm built and miniflare)
//   BENCH_WORKER_N=2000  sequential requests per series (default 2000, --quick 200)
//
// Series (sequential requests, one at a time, keep-alive): GET /me with a valid bearer token,
// POST /auth/refresh with the newest refresh cookie (every request is a real rotation),
// POST /auth/login; the same three on the hand-written Worker and on the baseline, plus the
// baseline's login answered by the Worker itself (no Durable Object hop). Series run interleaved in blocks of 100 requests,
// order rotated per block, so machine noise hits them alike. Per-request auth cost =
// example latency − baseline latency (p50 and mean; a difference of tail percentiles is not a
// per-request cost, so p99 is reported per series only); layer cost = example − hand-written
// (what Hono and the rules of docs/HTTP.md add; the example's login also pays its throttle, two
// calls of the rate-limiting binding, set to a limit the bench never reaches). Writes
// bench/results/worker.json.
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { generateSigningKey } from "../dist/node.js";
import { workerOptions } from "../../examples/worker/miniflare.mjs";
import { fmt, median, percentile, round, table, writeResults } from "./lib.mjs";

const quick = process.argv.includes("--quick");
const N = Number(process.env.BENCH_WORKER_N ?? (quick ? 200 : 2000));
const BLOCK = Math.min(100, N);
const WARM = quick ? 20 : 100;
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const benchDir = fileURLToPath(new URL("./", import.meta.url));
if (!existsSync(new URL("../wasm/webgates_sessions_wasm_bg.wasm", import.meta.url))) {
  console.error("worker-bench: pkg/wasm/ is not built: run `node scripts/build.mjs` in pkg/ first");
  process.exit(1);
}
const log = (s) => process.stderr.write(`${s}\n`);

const modulesRules = [
  { type: "ESModule", include: ["**/*.js"] },
  { type: "CompiledWasm", include: ["**/*.wasm"] },
];
// As examples/worker/demo.mjs starts it (bundled with hono), over http:// (INSECURE: cookie wg_refresh).
const ORIGIN = "http://127.0.0.1";
const example = new Miniflare(
  await workerOptions({
    port: 0,
    loginLimit: 1_000_000_000,
    bindings: { SIGNING_KEY: JSON.stringify(generateSigningKey()), ORIGIN, INSECURE: "true" },
  }),
);
const handwritten = new Miniflare({
  modules: true,
  scriptPath: fileURLToPath(new URL("./handwritten-worker.js", import.meta.url)),
  modulesRoot: repoRoot,
  modulesRules,
  kvNamespaces: ["SESSIONS"],
  durableObjects: { AUTHORITY: { className: "SessionAuthority", useSQLite: true } },
  bindings: { SIGNING_KEY: JSON.stringify(generateSigningKey()), STORE: "do" },
  compatibilityDate: "2025-01-01",
  host: "127.0.0.1",
  port: 0,
});
const baseline = new Miniflare({
  modules: true,
  scriptPath: fileURLToPath(new URL("./baseline-worker.js", import.meta.url)),
  modulesRoot: benchDir,
  modulesRules,
  durableObjects: { AUTHORITY: { className: "BaselineAuthority", useSQLite: true } },
  compatibilityDate: "2025-01-01",
  host: "127.0.0.1",
  port: 0,
});

async function main() {
  const [ex, hw, base] = await Promise.all([example.ready, handwritten.ready, baseline.ready]);
  const load0 = loadavg().map((x) => round(x, 2));
  log(`example on ${ex.href}, hand-written on ${hw.href}, baseline on ${base.href}`);

  const alice = JSON.stringify({ username: "alice", password: "correct-horse" });
  const refreshOf = (res) => res.headers.getSetCookie().find((c) => c.startsWith("wg_refresh="))?.slice(11).split(";")[0];
  let accessToken = null;
  let refresh = null;
  let hwAccessToken = null;
  let hwRefresh = null;

  async function request(baseUrl, method, path, { body, bearer, cookie } = {}) {
    const headers = { "user-agent": "webgates-bench" };
    if (body) headers["content-type"] = "application/json";
    if (method === "POST") headers.origin = ORIGIN; // H3.2 (the others ignore it)
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    if (cookie) headers.cookie = `wg_refresh=${cookie}`;
    const t0 = performance.now();
    const res = await fetch(new URL(path, baseUrl), { method, headers, body });
    const text = await res.text();
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`${method} ${new URL(path, baseUrl).href}: ${res.status} ${text}`);
    return { ms, res, text };
  }

  const series = {
    exampleMe: { label: "Hono example GET /me (verify bearer)", run: () => request(ex, "GET", "/me", { bearer: accessToken }) },
    exampleRefresh: {
      label: "Hono example POST /auth/refresh (rotate, DO)",
      run: async () => {
        const r = await request(ex, "POST", "/auth/refresh", { cookie: refresh });
        refresh = refreshOf(r.res);
        accessToken = JSON.parse(r.text).access_token;
        return r;
      },
    },
    exampleLogin: { label: "Hono example POST /auth/login (throttle, issue, DO)", run: () => request(ex, "POST", "/auth/login", { body: alice }) },
    handwrittenMe: { label: "hand-written GET /me (verify bearer)", run: () => request(hw, "GET", "/me", { bearer: hwAccessToken }) },
    handwrittenRefresh: {
      label: "hand-written POST /auth/refresh (rotate, DO)",
      run: async () => {
        const r = await request(hw, "POST", "/auth/refresh", { cookie: hwRefresh });
        hwRefresh = refreshOf(r.res);
        hwAccessToken = JSON.parse(r.text).accessToken;
        return r;
      },
    },
    handwrittenLogin: { label: "hand-written POST /auth/login (issue, DO)", run: () => request(hw, "POST", "/auth/login", { body: alice }) },
    baselineMe: { label: "baseline GET /me (no auth)", run: () => request(base, "GET", "/me", { bearer: "x.y.z" }) },
    baselineRefresh: { label: "baseline POST /auth/refresh (DO, no auth)", run: () => request(base, "POST", "/auth/refresh", { cookie: "wgrt1.x" }) },
    baselineLogin: { label: "baseline POST /auth/login (DO, no auth)", run: () => request(base, "POST", "/auth/login", { body: alice }) },
    baselineDirectLogin: { label: "baseline POST /direct/login (no DO, no auth)", run: () => request(base, "POST", "/direct/login", { body: alice }) },
  };
  const ids = Object.keys(series);

  // A session to start from, then warm-up (isolate start, JIT, the DO's first storage calls).
  const login = await request(ex, "POST", "/auth/login", { body: alice });
  accessToken = JSON.parse(login.text).access_token;
  refresh = refreshOf(login.res);
  const hwLogin = await request(hw, "POST", "/auth/login", { body: alice });
  hwAccessToken = JSON.parse(hwLogin.text).accessToken;
  hwRefresh = refreshOf(hwLogin.res);
  if (!accessToken || !refresh || !hwAccessToken || !hwRefresh) throw new Error("login returned no tokens");
  for (const id of ids) for (let i = 0; i < WARM; i++) await series[id].run();

  const lat = Object.fromEntries(ids.map((id) => [id, []]));
  const wall = Object.fromEntries(ids.map((id) => [id, 0]));
  const blocks = Math.ceil(N / BLOCK);
  const t0 = performance.now();
  for (let b = 0; b < blocks; b++) {
    const n = Math.min(BLOCK, N - b * BLOCK);
    for (let k = 0; k < ids.length; k++) {
      const id = ids[(b + k) % ids.length];
      const s0 = performance.now();
      for (let i = 0; i < n; i++) lat[id].push((await series[id].run()).ms);
      wall[id] += performance.now() - s0;
    }
  }
  const seconds = (performance.now() - t0) / 1000;

  const out = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      requestsPerSeries: N,
      block: BLOCK,
      warmup: WARM,
      seconds: round(seconds, 1),
      loadavg: { start: load0, end: loadavg().map((x) => round(x, 2)) },
      method:
        "Sequential requests (one in flight) from Node fetch (keep-alive) to workerd via Miniflare on 127.0.0.1; " +
        "series interleaved in blocks, order rotated per block. Latency = fetch() until the body is read.",
    },
    series: {},
    authCost: {},
    layerCost: {},
  };
  for (const id of ids) {
    const xs = lat[id];
    out.series[id] = {
      label: series[id].label,
      requests: xs.length,
      rps: round((xs.length * 1000) / wall[id], 1),
      p50: round(median(xs), 3),
      p90: round(percentile(xs, 90), 3),
      p99: round(percentile(xs, 99), 3),
      mean: round(xs.reduce((a, x) => a + x, 0) / xs.length, 3),
      blockP50: Array.from({ length: Math.ceil(xs.length / BLOCK) }, (_, b) => round(median(xs.slice(b * BLOCK, (b + 1) * BLOCK)), 2)),
    };
  }
  for (const route of ["Me", "Refresh", "Login"]) {
    const e = out.series[`example${route}`];
    const bl = out.series[`baseline${route}`];
    out.authCost[route.toLowerCase()] = {
      p50Ms: round(e.p50 - bl.p50, 3),
      meanMs: round(e.mean - bl.mean, 3),
      rpsRatio: round(e.rps / bl.rps, 3),
    };
  }
  for (const route of ["Me", "Refresh", "Login"]) {
    const e = out.series[`example${route}`];
    const h = out.series[`handwritten${route}`];
    out.layerCost[route.toLowerCase()] = { p50Ms: round(e.p50 - h.p50, 3), meanMs: round(e.mean - h.mean, 3), rpsRatio: round(e.rps / h.rps, 3) };
  }
  out.doHopMs = {
    p50: round(out.series.baselineLogin.p50 - out.series.baselineDirectLogin.p50, 3),
    mean: round(out.series.baselineLogin.mean - out.series.baselineDirectLogin.mean, 3),
  };
  const file = writeResults("worker.json", out);

  const lines = [];
  lines.push(`webgates-sessions example Worker in workerd (Miniflare), ${N} sequential requests per series, ${round(seconds, 1)} s\n`);
  lines.push(
    table(
      ["series", "req/s", "p50 ms", "p90 ms", "p99 ms", "mean ms"],
      ids.map((id) => {
        const s = out.series[id];
        return [s.label, fmt(s.rps), fmt(s.p50), fmt(s.p90), fmt(s.p99), fmt(s.mean)];
      }),
    ),
  );
  lines.push("");
  lines.push(
    table(
      ["auth cost per request (example − baseline)", "p50 ms", "mean ms", "req/s ratio"],
      Object.entries(out.authCost).map(([k, v]) => [k, fmt(v.p50Ms), fmt(v.meanMs), `${v.rpsRatio}×`]),
    ),
  );
  lines.push(
    table(
      ["layer cost per request (Hono example − hand-written)", "p50 ms", "mean ms", "req/s ratio"],
      Object.entries(out.layerCost).map(([k, v]) => [k, fmt(v.p50Ms), fmt(v.meanMs), `${v.rpsRatio}×`]),
    ),
  );
  lines.push(`  Durable Object hop in the baseline (login via DO − direct): p50 ${fmt(out.doHopMs.p50)} ms, mean ${fmt(out.doHopMs.mean)} ms`);
  lines.push(`\nwrote ${fileURLToPath(file)}`);
  console.log(lines.join("\n"));
}

let code = 0;
try {
  await main();
} catch (e) {
  console.error(`worker-bench: ${e?.stack ?? e}`);
  code = 1;
} finally {
  await Promise.allSettled([example.dispose(), handwritten.dispose(), baseline.dispose()]);
}
process.exit(code);
