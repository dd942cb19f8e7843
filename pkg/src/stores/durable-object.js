// Durable Object storage adapter: linearizable inside the object. Each compare-and-set runs in a
// storage transaction (and Durable Objects' input gates keep other events out while storage
// operations are pending), so no foreign await separates the read from the write. Values are
// stored as { value, version } with a random version per write. Durable Object storage has no
// per-key TTL: expiry hints are ignored (validity always comes from the records).

const newVersion = () => crypto.randomUUID();

export function durableObjectStore(storage) {
  if (!storage || typeof storage.get !== "function" || typeof storage.put !== "function") {
    throw Object.assign(new TypeError("durableObjectStore: expected state.storage of a Durable Object"), { code: "invalid_input" });
  }
  const cas = async (tx, key, value, expect) => {
    const current = await tx.get(key);
    const ok =
      expect === "any" ||
      (expect === "absent" && current === undefined) ||
      (typeof expect === "object" && expect !== null && current !== undefined && current.version === expect.version);
    if (!ok) return { ok: false };
    const version = newVersion();
    await tx.put(key, { value, version });
    return { ok: true, version };
  };
  return {
    async get(key) {
      const e = await storage.get(key);
      return e === undefined ? null : { value: e.value, version: e.version };
    },
    async set(key, value, { expect = "any" } = {}) {
      if (typeof storage.transaction === "function") {
        return storage.transaction((tx) => cas(tx, key, value, expect));
      }
      return cas(storage, key, value, expect);
    },
    async delete(key) {
      await storage.delete(key);
    },
    async list(prefix, { cursor, limit = 100 } = {}) {
      const options = { prefix, limit: limit + 1 };
      if (cursor != null) options.startAfter = cursor;
      const keys = [...(await storage.list(options)).keys()];
      const page = keys.slice(0, limit);
      return { keys: page, cursor: keys.length > limit ? page[page.length - 1] : null };
    },
  };
}
