// Profiling aid (not a benchmark of record): where does the example Worker's refresh/login time
// go inside workerd? Runs bench/profile/do-store-worker.js in Miniflare and times, from outside,
// renew and issue over four store adapters inside the same Durable Object, interleaved in blocks.
//   node bench/profile/do-store.mjs [requests per series, default 600]
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { generateSigningKey } from "../../dist/node.js";
import { median, percentile, round, table } from "../lib.mjs";

const N = Number(process.argv[2] ?? 600);
const BLOCK = 50;
const mf = new Miniflare({
  modules: true,
  scriptPath: fileURLToPath(new URL("./do-store-worker.js", import.meta.url)),
  modulesRoot: fileURLToPath(new URL("../../", import.meta.url)),
  modulesRules: [
    { type: "ESModule", include: ["**/*.js"] },
    { type: "CompiledWasm", include: ["**/*.wasm"] },
  ],
  durableObjects: { PROFILER: { className: "Profiler", useSQLite: true } },
  bindings: { SIGNING_KEY: JSON.stringify(generateSigningKey()) },
  compatibilityDate: "2025-01-01",
  host: "127.0.0.1",
  port: 0,
});
try {
  const base = await mf.ready;
  const kinds = ["memory", "kv", "notx", "do"];
  const probe = await fetch(new URL("/renew?store=kv", base), { method: "POST" });
  await probe.text();
  if (probe.status === 501) kinds.splice(kinds.indexOf("kv"), 1);
  const ids = kinds.flatMap((k) => [`renew:${k}`, `issue:${k}`]);
  const lat = Object.fromEntries(ids.map((id) => [id, []]));
  const one = async (id) => {
    const [op, kind] = id.split(":");
    const t0 = performance.now();
    const res = await fetch(new URL(`/${op}?store=${kind}`, base), { method: "POST" });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${id}: ${res.status} ${text}`);
    return performance.now() - t0;
  };
  for (const id of ids) for (let i = 0; i < 30; i++) await one(id);
  for (let b = 0; b < N / BLOCK; b++) {
    for (let k = 0; k < ids.length; k++) {
      const id = ids[(b + k) % ids.length];
      for (let i = 0; i < BLOCK; i++) lat[id].push(await one(id));
    }
  }
  console.log(
    table(
      ["op:store", "p50 ms", "p90 ms", "mean ms"],
      ids.map((id) => [id, round(median(lat[id]), 3), round(percentile(lat[id], 90), 3), round(lat[id].reduce((a, x) => a + x, 0) / lat[id].length, 3)]),
    ),
  );
} finally {
  await mf.dispose();
}
