// MemoryStore.list at scale: ms per 100-key page of one subject's index among 300,000 keys, for
// the ordered index MemoryStore keeps and for the algorithm it replaced (filter and sort every
// key on each page, kept here as the reference). Also the cost of a new key's insert.
//   node bench/memory-store-list.mjs [keys]      (from pkg/; pure JS, needs no wasm build)
import { MemoryStore } from "../src/stores/memory.js";

const N = Number(process.argv[2] ?? 300_000);
const SUBJECTS = 1000;
const key = (i) => `u/user-${i % SUBJECTS}/${String(i).padStart(8, "0")}-sid`;

/** The replaced algorithm: every key filtered and sorted on each page. */
function sortEveryPage(keys, prefix, { cursor, limit }) {
  const all = [...keys].filter((k) => k.startsWith(prefix) && (cursor == null || k > cursor)).sort();
  const page = all.slice(0, limit);
  return { keys: page, cursor: all.length > limit ? page[page.length - 1] : null };
}

async function perPage(list, pages) {
  let cursor = null;
  const t0 = performance.now();
  for (let i = 0; i < pages; i++) {
    const r = await list("u/user-7/", cursor == null ? { limit: 100 } : { cursor, limit: 100 });
    cursor = r.cursor;
  }
  return (performance.now() - t0) / pages;
}

const store = new MemoryStore();
const entries = new Map();
for (let i = 0; i < N; i++) {
  await store.set(key(i), "{}", { expect: "any" });
  entries.set(key(i), true);
}
await perPage((p, o) => store.list(p, o), 200); // warm-up
const ordered = await perPage((p, o) => store.list(p, o), 2000);
const sorting = await perPage(async (p, o) => sortEveryPage(entries.keys(), p, o), 10);
const t0 = performance.now();
for (let i = 0; i < 10_000; i++) await store.set(`u/new/${i}`, "{}", { expect: "absent" });
const insert = ((performance.now() - t0) / 10_000) * 1000;
console.log(`${store.size} keys: list page ${ordered.toFixed(3)} ms (ordered index) vs ${sorting.toFixed(1)} ms (sort every page); set of a new key ${insert.toFixed(1)} µs`);
