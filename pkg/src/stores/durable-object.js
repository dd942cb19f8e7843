// Durable Object storage adapter: linearizable inside the object. Values are stored as
// { value, version } with a random version per write. Durable Object storage has no per-key TTL:
// expiry hints are ignored (validity always comes from the records).
//
// SQLite-backed objects (the default for new classes) expose the synchronous KV API
// `storage.kv`, which reads and writes the same hidden table as the asynchronous one: there a
// compare-and-set is a read and a write with no await in between, so nothing can interleave, and
// it costs no storage transaction. Older KV-backed objects get a storage transaction per
// compare-and-set instead.

import { invalid, matches, page, randomVersion as newVersion } from "./contract.js";

// Durable Object storage reads at most 128 keys per get([...]).
const GET_MANY = 128;

// Plain return values, no Promises: the authority reads and writes without yielding at all.
function syncStore(kv) {
  const get = (key) => {
    const e = kv.get(key);
    return e === undefined ? null : { value: e.value, version: e.version };
  };
  return {
    get,
    getMany(keys) {
      // The synchronous API reads a key at a time; no await between them, so one consistent view.
      return keys.map(get);
    },
    set(key, value, { expect = "any" } = {}) {
      if (!matches(kv.get(key), expect)) return { ok: false };
      const version = newVersion();
      kv.put(key, { value, version });
      return { ok: true, version };
    },
    delete(key) {
      kv.delete(key);
    },
    list(prefix, { cursor, limit = 100 } = {}) {
      // The synchronous list has no startAfter: start just after the cursor instead.
      const options = { prefix, limit: limit + 1 };
      if (cursor != null) options.start = `${cursor}\0`;
      const keys = [];
      for (const [k] of kv.list(options)) keys.push(k);
      return page(keys, limit);
    },
  };
}

// The synchronous KV API if this object is SQLite-backed. KV-backed objects expose `storage.kv`
// too, but every call on it throws; reading a key nobody writes tells the two apart.
function syncKv(storage) {
  try {
    const kv = storage.kv;
    if (!kv || typeof kv.get !== "function" || typeof kv.put !== "function" || typeof kv.list !== "function") return null;
    kv.get("webgates-sessions:probe");
    return kv;
  } catch {
    return null;
  }
}

export function durableObjectStore(storage) {
  if (!storage || typeof storage.get !== "function" || typeof storage.put !== "function") {
    throw invalid("durableObjectStore", "expected state.storage of a Durable Object");
  }
  const kv = syncKv(storage);
  if (kv) return syncStore(kv);
  const cas = async (tx, key, value, expect) => {
    if (!matches(await tx.get(key), expect)) return { ok: false };
    const version = newVersion();
    await tx.put(key, { value, version });
    return { ok: true, version };
  };
  return {
    async get(key) {
      const e = await storage.get(key);
      return e === undefined ? null : { value: e.value, version: e.version };
    },
    async getMany(keys) {
      // storage.get([...]) reads up to 128 keys in one call, answering a Map of the found ones.
      const found = new Map();
      for (let i = 0; i < keys.length; i += GET_MANY) {
        for (const [k, e] of await storage.get(keys.slice(i, i + GET_MANY))) found.set(k, e);
      }
      return keys.map((k) => {
        const e = found.get(k);
        return e === undefined ? null : { value: e.value, version: e.version };
      });
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
      return page([...(await storage.list(options)).keys()], limit);
    },
  };
}
