// An in-process store: linearizable (every method runs to completion before the next one starts),
// for tests, demos and single-process servers. State is lost when the process exits.

import { invalid as invalidFor, matches, page } from "./contract.js";

const invalid = (message) => invalidFor("MemoryStore", message);

// The bridge looks for this symbol on a store object: a synchronous twin of its methods, used
// instead of the Promise-returning ones (no microtask or Promise machinery per operation).
const SYNC = Symbol.for("webgates-sessions.syncStore");

/** @implements {import("../../index.d.ts").SessionStore} */
export class MemoryStore {
  #entries = new Map();
  #nextVersion = 0;
  #sync = {
    get: (key) => this.#get(key),
    set: (key, value, options) => this.#set(key, value, options),
    delete: (key) => this.#delete(key),
    list: (prefix, options) => this.#list(prefix, options),
  };

  /**
   * The synchronous twin, only while the four methods are MemoryStore's own: a subclass or a
   * test that overrides or wraps one of them is always called.
   */
  get [SYNC]() {
    const p = MemoryStore.prototype;
    const own = this.get === p.get && this.set === p.set && this.delete === p.delete && this.list === p.list;
    return own ? this.#sync : undefined;
  }

  async get(key) {
    return this.#get(key);
  }

  async set(key, value, options) {
    return this.#set(key, value, options);
  }

  async delete(key) {
    this.#delete(key);
  }

  async list(prefix, options) {
    return this.#list(prefix, options);
  }

  #get(key) {
    if (typeof key !== "string") throw invalid("key must be a string");
    const e = this.#entries.get(key);
    return e ? { value: e.value, version: e.version } : null;
  }

  #set(key, value, { expect = "any", expiresAt } = {}) {
    if (typeof key !== "string") throw invalid("key must be a string");
    if (typeof value !== "string") throw invalid("value must be a string");
    if (!matches(this.#entries.get(key), expect)) return { ok: false };
    const version = String(++this.#nextVersion);
    this.#entries.set(key, { value, version, expiresAt });
    return { ok: true, version };
  }

  #delete(key) {
    if (typeof key !== "string") throw invalid("key must be a string");
    this.#entries.delete(key);
  }

  #list(prefix, { cursor, limit = 100 } = {}) {
    if (typeof prefix !== "string") throw invalid("prefix must be a string");
    const keys = [...this.#entries.keys()]
      .filter((k) => k.startsWith(prefix) && (cursor == null || k > cursor))
      .sort();
    return page(keys, limit);
  }

  /** Number of stored keys (for tests). */
  get size() {
    return this.#entries.size;
  }

  /** Drops entries whose expiry hint is at or before `now` (epoch ms); returns how many. */
  purgeExpired(now = Date.now()) {
    let n = 0;
    for (const [k, e] of this.#entries) {
      if (e.expiresAt !== undefined && e.expiresAt <= now) {
        this.#entries.delete(k);
        n++;
      }
    }
    return n;
  }
}
