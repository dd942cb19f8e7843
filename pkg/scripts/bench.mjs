// Runs the JS benchmarks and prints a combined summary:
//   node scripts/bench.mjs [--quick]        (from pkg/ or anywhere)
// 1. bench/bench.mjs         Node: verify / sign / renew vs jose, fast-jwt, OpenAuth; size; cold start; memory
// 2. bench/worker-bench.mjs  the example Worker in workerd (Miniflare) vs a no-auth baseline Worker
// 3. bench/remote-verifier.mjs  createRemoteVerifier (warm) vs Verifier; fetches per unknown-kid storm
// Results: bench/results/node.json, worker.json and summary.json (the results directory is not
// committed). Builds the package first (scripts/build.mjs; quick when nothing changed), so the
// figures are never those of a stale build. Exits 1 if a benchmark fails to run; missed
// performance targets are reported, not treated as errors.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const pkg = dirname(dirname(fileURLToPath(import.meta.url)));
const extra = process.argv.includes("--quick") ? ["--quick"] : [];
const t0 = performance.now();

execFileSync(process.execPath, [join(pkg, "scripts/build.mjs")], { stdio: "inherit" });

for (const script of ["bench/bench.mjs", "bench/worker-bench.mjs", "bench/remote-verifier.mjs"]) {
  console.log(`\n=== node ${script} ${extra.join(" ")}\n`);
  const r = spawnSync(process.execPath, [join(pkg, script), ...extra], { stdio: "inherit", cwd: pkg, timeout: 600_000 });
  if (r.status !== 0) {
    console.error(`bench: ${script} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
    process.exit(1);
  }
}

const { table, writeResults, passFail, round } = await import("../bench/lib.mjs");
const read = (f) => JSON.parse(readFileSync(join(pkg, "bench/results", f), "utf8"));
const node = read("node.json");
const worker = read("worker.json");
const r2 = (r) => `${r.wall}× wall, ${r.cpu}× cpu`;
const rows = [
  ["verify  ÷ jose (local JWKS)", r2(node.ratios.verify.jose)],
  ["verify  ÷ jose (pre-imported key)", r2(node.ratios.verify.joseKey)],
  ["verify  ÷ fast-jwt", r2(node.ratios.verify.fastJwt)],
  ["verify  ÷ node:crypto Ed25519 alone (floor)", r2(node.ratios.verify.nodeEd25519)],
  ["verify (verifier-only module) ÷ main module", r2(node.ratios.verifyEntry.ours)],
  ["verify (verifier-only module) ÷ fast-jwt", r2(node.ratios.verifyEntry.fastJwt)],
  ["issue   ÷ jose SignJWT alone", r2(node.ratios.sign.jose)],
  ["issue   ÷ fast-jwt signer alone", r2(node.ratios.sign.fastJwt)],
  ["renew   ÷ OpenAuth refresh rotation", r2(node.ratios.renew.openauth)],
  ["renew behind a /token handler ÷ OpenAuth", r2(node.ratios.renew.oursHttpVsOpenauth)],
  ["wasm gzip", `${round(node.size["webgates_sessions_wasm_bg.wasm"].gzip / 1024, 1)} KiB (verifier-only module ${round(node.size["webgates_sessions_verifier_bg.wasm"].gzip / 1024, 1)} KiB)`],
  ["cold: process start → first verified token", `${node.coldStart.ours.processStartToDoneMs} ms`],
  ["cold: empty node process (start → entry)", `${node.coldStart.empty.processStartToDoneMs} ms`],
  ["cold: user code → first verified token", `${node.coldStart.ours.entryToDoneMs} ms (jose ${node.coldStart.jose.entryToDoneMs}, fast-jwt ${node.coldStart["fast-jwt"].entryToDoneMs})`],
  ["cold: the same through webgates-sessions/verifier", `${node.coldStart["ours-verifier"].entryToDoneMs} ms`],
  ["cold: wasm compile + instantiate", `${node.coldStart["ours-compile"].compileInstantiateMs} ms`],
  ["memory", node.memory.flat === null ? "not judged (quick run)" : node.memory.flat ? "flat" : "grows"],
  ["workerd GET /me auth cost (p50)", `${worker.authCost.me.p50Ms} ms`],
  ["workerd POST /auth/refresh auth cost (p50)", `${worker.authCost.refresh.p50Ms} ms`],
  ["workerd POST /auth/login auth cost (p50)", `${worker.authCost.login.p50Ms} ms`],
];
const summary = { date: new Date().toISOString(), seconds: round((performance.now() - t0) / 1000, 1), targets: node.targets, rows: Object.fromEntries(rows), worker: worker.authCost };
writeResults("summary.json", summary);
console.log(`\n=== summary (${summary.seconds} s)\n`);
console.log(table(["measure", "value"], rows));
console.log("");
console.log(table(["target", "value", "result"], node.targets.map((t) => [t.name, t.value, passFail(t.pass)])));
