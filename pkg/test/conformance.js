// The JS port of the core's store conformance suite (src/store/conformance.rs, CASES), case for
// case and in the same order. Runtime-neutral: Node, Deno and workerd all import it.
// runConformance(store, namespace, { skip }) resolves to { passed: [...], failed: [{case, detail}] }.

export const CASES = [
  "get_absent",
  "put_absent_creates",
  "put_absent_conflicts_when_present",
  "put_version_matches",
  "put_stale_version_conflicts",
  "put_version_on_absent_conflicts",
  "put_any_overwrites",
  "version_changes_on_identical_rewrite",
  "delete_removes",
  "list_prefix_exact",
  "list_pagination",
  "list_empty",
  "expiry_hint_accepted",
  "values_round_trip",
  "keys_with_escapes",
  "longest_keys",
  "racing_absent_puts",
  "racing_versioned_puts",
];

class CaseFailure extends Error {}
const check = (cond, what) => {
  if (!cond) throw new CaseFailure(typeof what === "function" ? what() : what);
};
const put = (s, k, v, expect, expiresAt) => s.set(k, v, expiresAt === undefined ? { expect } : { expect, expiresAt });
const written = async (s, k, v, expect) => {
  const r = await put(s, k, v, expect);
  check(r && r.ok === true && typeof r.version === "string", `put(${k}) unexpectedly gave ${JSON.stringify(r)}`);
  return r.version;
};
const listAll = async (s, prefix, limit) => {
  const pages = [];
  let cursor = null;
  for (let i = 0; i < 1000; i++) {
    const page = await s.list(prefix, cursor == null ? { limit } : { cursor, limit });
    pages.push(page);
    cursor = page.cursor ?? null;
    if (cursor == null) return pages;
  }
  throw new CaseFailure("list never returned a final page");
};
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

const cases = {
  async get_absent(s, p) {
    check((await s.get(`${p}k`)) === null, "missing key returned a value");
  },
  async put_absent_creates(s, p) {
    const ver = await written(s, `${p}k`, "one", "absent");
    const e = await s.get(`${p}k`);
    check(e && e.value === "one" && e.version === ver, () => `read back ${JSON.stringify(e)}`);
  },
  async put_absent_conflicts_when_present(s, p) {
    const ver = await written(s, `${p}k`, "one", "absent");
    const r = await put(s, `${p}k`, "two", "absent");
    check(r.ok === false, "second absent put succeeded");
    const e = await s.get(`${p}k`);
    check(e.value === "one" && e.version === ver, "a conflicting put changed the value or version");
  },
  async put_version_matches(s, p) {
    const v1 = await written(s, `${p}k`, "one", "absent");
    const v2 = await written(s, `${p}k`, "two", { version: v1 });
    check(v1 !== v2, "version did not change");
    const e = await s.get(`${p}k`);
    check(e.value === "two" && e.version === v2, () => `read back ${JSON.stringify(e)}`);
  },
  async put_stale_version_conflicts(s, p) {
    const v1 = await written(s, `${p}k`, "one", "absent");
    await written(s, `${p}k`, "two", { version: v1 });
    const r = await put(s, `${p}k`, "three", { version: v1 });
    check(r.ok === false, "stale CAS succeeded");
    check((await s.get(`${p}k`)).value === "two", "stale CAS changed the value");
  },
  async put_version_on_absent_conflicts(s, p) {
    const ver = await written(s, `${p}other`, "x", "absent");
    const r = await put(s, `${p}k`, "v", { version: ver });
    check(r.ok === false, "CAS on a missing key succeeded");
    check((await s.get(`${p}k`)) === null, "CAS on a missing key created it");
  },
  async put_any_overwrites(s, p) {
    await written(s, `${p}k`, "one", "any");
    await written(s, `${p}k`, "two", "any");
    check((await s.get(`${p}k`)).value === "two", "any did not overwrite");
  },
  async version_changes_on_identical_rewrite(s, p) {
    const v1 = await written(s, `${p}k`, "same", "absent");
    const v2 = await written(s, `${p}k`, "same", { version: v1 });
    check(v1 !== v2, "identical rewrite kept the version");
    check((await put(s, `${p}k`, "same", { version: v1 })).ok === false, "CAS with a pre-rewrite version succeeded (ABA)");
  },
  async delete_removes(s, p) {
    await written(s, `${p}k`, "one", "absent");
    await s.delete(`${p}k`);
    check((await s.get(`${p}k`)) === null, "deleted key still readable");
    await s.delete(`${p}k`);
    await written(s, `${p}k`, "again", "absent");
  },
  async list_prefix_exact(s, p) {
    for (const k of ["p/b", "p/a", "p/c", "p", "p0/x"]) await written(s, `${p}${k}`, "1", "any");
    const keys = (await listAll(s, `${p}p/`, 100)).flatMap((pg) => pg.keys);
    check(same(keys, ["p/a", "p/b", "p/c"].map((k) => p + k)), () => `listed ${JSON.stringify(keys)}`);
  },
  async list_pagination(s, p) {
    const want = [0, 1, 2, 3, 4].map((i) => `${p}i/${i}`);
    for (const k of [...want].reverse()) await written(s, k, "1", "any");
    const pages = await listAll(s, `${p}i/`, 2);
    check(pages.every((pg) => pg.keys.length <= 2), "a page exceeded the limit");
    const keys = pages.flatMap((pg) => pg.keys);
    check(same(keys, want), () => `paged listing gave ${JSON.stringify(keys)}`);
  },
  async list_empty(s, p) {
    const page = await s.list(`${p}none/`, { limit: 10 });
    check(page.keys.length === 0 && (page.cursor ?? null) === null, () => `got ${JSON.stringify(page)}`);
  },
  async expiry_hint_accepted(s, p) {
    const later = 4_102_444_800_000; // 2100-01-01
    const r = await put(s, `${p}k`, "v", "absent", later);
    check(r.ok === true, "put with a hint conflicted");
    check((await s.get(`${p}k`)) !== null, "value with a future hint is unreadable");
    const r2 = await put(s, `${p}k`, "w", { version: r.version }, later);
    check(r2.ok === true, "versioned put with a hint failed");
  },
  async values_round_trip(s, p) {
    let v = '{"text":"';
    while (v.length < 64 * 1024) v += "sessions-Ω-会话-🔐 ";
    v += '"}';
    await written(s, `${p}k`, v, "absent");
    check((await s.get(`${p}k`)).value === v, "value changed in the round trip");
  },
  async keys_with_escapes(s, p) {
    const key = `${p}u/a%2Fb@example.com-x_y.z`;
    await written(s, key, "1", "absent");
    check((await s.get(key)) !== null, "escaped key unreadable");
    const keys = (await listAll(s, `${p}u/`, 10)).flatMap((pg) => pg.keys);
    check(same(keys, [key]), () => `listed ${JSON.stringify(keys)}`);
  },
  async longest_keys(s, p) {
    // The repository's longest key is 807 bytes; a store with a shorter maxKeyBytes gets keys
    // within it, so the store must hold keys of exactly that length.
    const len = Math.min(typeof s.maxKeyBytes === "number" ? s.maxKeyBytes : 807, 807);
    const stem = `${p}u/`;
    check(len > stem.length, `the namespace leaves no room for a ${len}-byte key`);
    const key = stem + "k".repeat(len - stem.length);
    await written(s, key, "1", "absent");
    check((await s.get(key)) !== null, `a ${len}-byte key is unreadable`);
    const keys = (await listAll(s, stem, 10)).flatMap((pg) => pg.keys);
    check(same(keys, [key]), () => `listed ${keys.length} keys instead of the ${len}-byte one`);
    await s.delete(key);
    check((await s.get(key)) === null, `a ${len}-byte key survived delete`);
  },
  async racing_absent_puts(s, p) {
    const rs = await Promise.all([put(s, `${p}k`, "a", "absent"), put(s, `${p}k`, "b", "absent")]);
    const wins = rs.filter((r) => r.ok).length;
    check(wins === 1, `${wins} racing absent puts succeeded`);
  },
  async racing_versioned_puts(s, p) {
    const v = await written(s, `${p}k`, "0", "absent");
    const rs = await Promise.all([put(s, `${p}k`, "a", { version: v }), put(s, `${p}k`, "b", { version: v })]);
    const wins = rs.filter((r) => r.ok).length;
    check(wins === 1, `${wins} racing versioned puts succeeded`);
  },
};

export async function runConformance(store, namespace, { skip = [] } = {}) {
  const passed = [];
  const failed = [];
  const skipped = [];
  for (const name of CASES) {
    if (skip.includes(name)) {
      skipped.push(name);
      continue;
    }
    try {
      await cases[name](store, `${namespace}/${name}/`);
      passed.push(name);
    } catch (e) {
      failed.push({ case: name, detail: e instanceof CaseFailure ? e.message : `threw ${e?.stack ?? e}` });
    }
  }
  return { passed, failed, skipped };
}
