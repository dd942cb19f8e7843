// An in-process store: linearizable (every method runs to completion before the next one starts),
// for tests, demos and single-process servers. State is lost when the process exits.
//
// Keys are also kept in order (SortedKeys below), so a `list` page costs a binary search and the
// page itself, whatever else the store holds: 0.07 ms per 100-key page at 310 k keys, where
// sorting every key on each page took 150 ms (bench/memory-store-list.mjs, Node 20, shared
// 2-core machine).

import { invalid as invalidFor, matches } from "./contract.js";

const invalid = (message) => invalidFor("MemoryStore", message);

// The bridge looks for this symbol on a store object: a synchronous twin of its methods, used
// instead of the Promise-returning ones (no microtask or Promise machinery per operation).
const SYNC = Symbol.for("webgates-sessions.syncStore");

/** @implements {import("../../index.d.ts").SessionStore} */
export class MemoryStore {
  #entries = new Map();
  #keys = new SortedKeys();
  #nextVersion = 0;
  #sync = {
    get: (key) => this.#get(key),
    getMany: (keys) => this.#getMany(keys),
    set: (key, value, options) => this.#set(key, value, options),
    delete: (key) => this.#delete(key),
    list: (prefix, options) => this.#list(prefix, options),
  };

  /**
   * The synchronous twin, only while the five methods are MemoryStore's own: a subclass or a
   * test that overrides or wraps one of them is always called.
   */
  get [SYNC]() {
    const p = MemoryStore.prototype;
    const own =
      this.get === p.get &&
      this.getMany === p.getMany &&
      this.set === p.set &&
      this.delete === p.delete &&
      this.list === p.list;
    return own ? this.#sync : undefined;
  }

  async get(key) {
    return this.#get(key);
  }

  /** One answer per key, in order: what `get` would answer for each. */
  async getMany(keys) {
    return this.#getMany(keys);
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

  #getMany(keys) {
    if (!Array.isArray(keys)) throw invalid("keys must be an array");
    return keys.map((key) => this.#get(key));
  }

  #set(key, value, { expect = "any", expiresAt } = {}) {
    if (typeof key !== "string") throw invalid("key must be a string");
    if (typeof value !== "string") throw invalid("value must be a string");
    const current = this.#entries.get(key);
    if (!matches(current, expect)) return { ok: false };
    const version = String(++this.#nextVersion);
    if (current === undefined) this.#keys.insert(key);
    this.#entries.set(key, { value, version, expiresAt });
    return { ok: true, version };
  }

  #delete(key) {
    if (typeof key !== "string") throw invalid("key must be a string");
    if (this.#entries.delete(key)) this.#keys.remove(key);
  }

  #list(prefix, { cursor, limit = 100 } = {}) {
    if (typeof prefix !== "string") throw invalid("prefix must be a string");
    const max = Math.max(1, Math.floor(Number.isFinite(limit) ? limit : 100));
    // Past the cursor, or from the prefix if the cursor lies before it; one key more than the
    // page tells whether there is a next one.
    const after = cursor != null && !before(String(cursor), prefix) ? String(cursor) : null;
    const keys = this.#keys.from(after ?? prefix, after !== null, max + 1, (k) => k.startsWith(prefix));
    const page = keys.slice(0, max);
    return { keys: page, cursor: keys.length > max ? page[page.length - 1] : null };
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
    if (n > 0) this.#keys = SortedKeys.of([...this.#entries.keys()]);
    return n;
  }
}

// UTF-16 code units order supplementary characters (surrogates, D800–DFFF) below E000–FFFF, while
// code point order, which is UTF-8 byte order, puts them above: shift both ranges to compare.
const unit = (u) => (u >= 0xe000 ? u - 0x800 : u >= 0xd800 ? u + 0x2000 : u);

/** Whether `a` comes before `b` in UTF-8 byte order (the order `list` promises). */
function before(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return unit(x) < unit(y);
  }
  return a.length < b.length;
}

/** The first index of `sorted` whose key is after `key` (`strict`) or not before it. */
function search(sorted, key, strict) {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (strict ? !before(key, sorted[mid]) : before(sorted[mid], key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Chunks of at most this many keys: one sorted array of every key makes each insert a splice of
// the whole array (over 1 ms at 300 k keys in V8), chunks keep it a splice of at most this many.
const CHUNK = 512;

/** A set of strings in UTF-8 byte order: sorted chunks, each non-empty and at most CHUNK long. */
class SortedKeys {
  #chunks = [];

  static of(keys) {
    const sorted = new SortedKeys();
    keys.sort((a, b) => (a === b ? 0 : before(a, b) ? -1 : 1));
    for (let i = 0; i < keys.length; i += CHUNK / 2) sorted.#chunks.push(keys.slice(i, i + CHUNK / 2));
    return sorted;
  }

  /** The chunk that holds `key` or would: the first whose last key is not before it, else the last. */
  #chunkFor(key, strict) {
    const chunks = this.#chunks;
    let lo = 0;
    let hi = chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const last = chunks[mid][chunks[mid].length - 1];
      if (strict ? !before(key, last) : before(last, key)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  insert(key) {
    const chunks = this.#chunks;
    if (chunks.length === 0) {
      chunks.push([key]);
      return;
    }
    const c = Math.min(this.#chunkFor(key, false), chunks.length - 1);
    const chunk = chunks[c];
    chunk.splice(search(chunk, key, false), 0, key);
    if (chunk.length > CHUNK) chunks.splice(c, 1, chunk.slice(0, CHUNK / 2), chunk.slice(CHUNK / 2));
  }

  remove(key) {
    const c = this.#chunkFor(key, false);
    const chunk = this.#chunks[c];
    if (chunk === undefined) return;
    const i = search(chunk, key, false);
    if (chunk[i] !== key) return;
    chunk.splice(i, 1);
    if (chunk.length === 0) this.#chunks.splice(c, 1);
  }

  /** Up to `n` keys from `key` on (after it if `strict`), in order, while `keep(key)` holds. */
  from(key, strict, n, keep) {
    const out = [];
    const chunks = this.#chunks;
    let c = this.#chunkFor(key, strict);
    if (c === chunks.length) return out;
    let i = search(chunks[c], key, strict);
    for (; c < chunks.length; c++, i = 0) {
      const chunk = chunks[c];
      for (; i < chunk.length; i++) {
        if (out.length === n || !keep(chunk[i])) return out;
        out.push(chunk[i]);
      }
    }
    return out;
  }
}
