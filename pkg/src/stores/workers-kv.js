// Workers KV adapter — BEST EFFORT. Workers KV has no compare-and-set, is eventually consistent
// (writes take up to ~60 s to reach other locations; last write wins) and allows about one write
// per second per key. This adapter emulates CAS by reading the version from the key's metadata
// and then writing, which is racy: two concurrent renewals can both rotate (forking the chain),
// and a replay seen at another location before propagation goes undetected. Use a Durable Object
// (durableObjectStore) for the authority's session state; use Workers KV only where that risk is
// acceptable, e.g. a single-region, low-concurrency deployment.

import { codedError } from "../errors.js";

const newVersion = () => crypto.randomUUID();

export function workersKvStore(namespace) {
  if (!namespace || typeof namespace.getWithMetadata !== "function") {
    throw codedError(TypeError, "invalid_input", "workersKvStore: expected a Workers KV namespace binding");
  }
  const read = async (key) => {
    const { value, metadata } = await namespace.getWithMetadata(key, { type: "text" });
    return value === null ? null : { value, version: String(metadata?.v ?? "0") };
  };
  return {
    // Workers KV refuses keys over 512 bytes; the core shortens the keys of longer subjects.
    maxKeyBytes: 512,
    get: read,
    async set(key, value, { expect = "any", expiresAt } = {}) {
      if (expect !== "any") {
        const current = await read(key);
        const ok = expect === "absent" ? current === null : current !== null && current.version === expect.version;
        if (!ok) return { ok: false };
      }
      const version = newVersion();
      const options = { metadata: { v: version } };
      if (typeof expiresAt === "number") {
        const seconds = Math.ceil(expiresAt / 1000);
        // KV refuses expirations less than 60 s ahead (such a record is nearly dead anyway) and
        // the binding takes a 32-bit integer (past 2038-01-19 it throws): omit the hint then.
        if (seconds >= Math.ceil(Date.now() / 1000) + 60 && seconds <= 2 ** 31 - 1) options.expiration = seconds;
      }
      await namespace.put(key, value, options);
      return { ok: true, version };
    },
    async delete(key) {
      await namespace.delete(key);
    },
    async list(prefix, { cursor, limit = 100 } = {}) {
      const r = await namespace.list({ prefix, cursor: cursor ?? undefined, limit });
      return { keys: r.keys.map((k) => k.name), cursor: r.list_complete ? null : r.cursor };
    },
  };
}
