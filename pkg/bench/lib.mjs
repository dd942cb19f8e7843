// Shared helpers for the benchmarks: statistics, interleaved rounds, tables, gc.
import { mkdirSync, writeFileSync } from "node:fs";
import { runInNewContext } from "node:vm";
import { setFlagsFromString } from "node:v8";

export const resultsDir = new URL("./results/", import.meta.url);

/** A gc() function whether or not node was started with --expose-gc. */
export const gc = (() => {
  if (typeof globalThis.gc === "function") return globalThis.gc;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc");
})();

export function median(xs) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of an unsorted array. */
export function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}

export const round = (x, digits = 2) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

/**
 * Runs `op` repeatedly for about `ms` milliseconds. Returns wall-clock ops/s and ops per second
 * of this process's CPU time (process.cpuUsage(): every thread, so the libuv threadpool work of
 * WebCrypto-based libraries and V8's GC/compiler threads count too). `op` may be sync or async
 * (declare which with `isAsync`: sync ops are timed in batches so the clock read is amortised).
 */
export async function timeSlice(op, ms, isAsync) {
  let n = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let t = t0;
  if (isAsync) {
    while (t - t0 < ms) {
      await op();
      n++;
      t = performance.now();
    }
  } else {
    while (t - t0 < ms) {
      for (let i = 0; i < 8; i++) op();
      n += 8;
      t = performance.now();
    }
  }
  const c = process.cpuUsage(c0);
  return { wall: (n * 1000) / (t - t0), cpu: (n * 1e6) / Math.max(1, c.user + c.system) };
}

/**
 * Interleaved rounds: in every round each contender runs one time slice, in an order rotated
 * per round (ABC, BCA, CAB, …) so that order effects and machine noise hit everyone alike;
 * gc runs (untimed) between slices. Returns, per contender, the per-round ops/s (wall clock and
 * per CPU second) and their medians.
 *
 * Why both: on a machine shared with CPU-bound jobs, Linux's scheduler favours threads that
 * sleep and wake (an `await` on WebCrypto's threadpool) over a thread that computes without
 * pause (a synchronous verify), so wall-clock ratios swing with the neighbours' load; CPU-time
 * ratios do not. On an idle machine the two agree, except that CPU time leaves out the
 * thread hand-off latency async libraries pay.
 *
 * contender: { id, label, op, isAsync, beforeSlice?: async () => void }
 */
export async function interleaved(contenders, { rounds, sliceMs, warmMs }) {
  for (const c of contenders) {
    await c.beforeSlice?.();
    await timeSlice(c.op, warmMs, c.isAsync);
  }
  const wall = Object.fromEntries(contenders.map((c) => [c.id, []]));
  const cpu = Object.fromEntries(contenders.map((c) => [c.id, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(r + k) % contenders.length];
      await c.beforeSlice?.();
      gc();
      const x = await timeSlice(c.op, sliceMs, c.isAsync);
      wall[c.id].push(x.wall);
      cpu[c.id].push(x.cpu);
    }
  }
  const out = {};
  for (const c of contenders) {
    const w = median(wall[c.id]);
    const u = median(cpu[c.id]);
    out[c.id] = {
      label: c.label,
      opsPerSec: round(w, 1),
      usPerOp: round(1e6 / w, 2),
      opsPerCpuSec: round(u, 1),
      cpuUsPerOp: round(1e6 / u, 2),
      minOpsPerSec: round(Math.min(...wall[c.id]), 1),
      maxOpsPerSec: round(Math.max(...wall[c.id]), 1),
      rounds: wall[c.id].map((x) => round(x, 1)),
      cpuRounds: cpu[c.id].map((x) => round(x, 1)),
    };
  }
  return out;
}

/** Median over rounds of ours[r] / peer[r] (paired: both ran in the same round); `cpu` for CPU-time ops. */
export function pairedRatio(group, ours, peer, cpu = false) {
  const key = cpu ? "cpuRounds" : "rounds";
  const a = group[ours][key];
  const b = group[peer][key];
  return round(median(a.map((x, i) => x / b[i])), 3);
}

export function table(headers, rows) {
  const cells = [headers, ...rows].map((r) => r.map((c) => String(c)));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  return [line(cells[0]), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

export function writeResults(name, data) {
  mkdirSync(resultsDir, { recursive: true });
  const url = new URL(name, resultsDir);
  writeFileSync(url, JSON.stringify(data, null, 2) + "\n");
  return url;
}

export const fmt = (x) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? Math.round(x).toLocaleString("en-US") : String(round(x, 2))) : String(x));
export const passFail = (ok) => (ok === null || ok === undefined ? "n/a" : ok ? "PASS" : "FAIL");
