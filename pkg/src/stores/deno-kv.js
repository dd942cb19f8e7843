// Deno KV adapter: linearizable compare-and-set through versionstamp checks in atomic operations.
// Keys live under `prefix` (default ["webgates"]) as a single string part, so listing by string
// prefix is a key range. Expiry hints become `expireIn`, computed against Date.now(). Deno
// deletes expired keys lazily: an expired key stays readable until a periodic sweep removes it,
// which is fine because validity always comes from the records.
//
// Deno KV refuses values over 65,536 bytes (a string of more than 32,767 non-Latin-1 characters
// already exceeds that). A longer value is stored as UTF-8 chunks at [...prefix, key, i] with a
// small manifest at [...prefix, key], all in one atomic commit, so every chunk carries the
// manifest's versionstamp. A read checks that and reads again if it saw parts of two writes.
// Session records are far smaller (claims are at most 4 KiB), so in practice every value is a
// plain string, readable in a KV viewer. Versions are the versionstamp, with ".<chunks>" appended
// for a chunked value so that a compare-and-set knows which chunks to drop without a read.

import { invalid as invalidFor } from "./contract.js";

const INLINE_UNITS = 32_000; // a string of at most this many UTF-16 units always fits one value
const CHUNK_BYTES = 60_000; // under the 65,536-byte value limit
const MAX_CHUNKS = 12; // 720,000 bytes: under the 819,200-byte limit on one atomic commit
const GET_MANY = 10; // Deno KV reads at most 10 keys per getMany
const ATTEMPTS = 16;
const VERSION = /^([0-9a-f]{20})(?:\.([1-9][0-9]?))?$/;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

const invalid = (message) => invalidFor("denoKvStore", message);

const chunkCount = (value) => {
  const n = value !== null && typeof value === "object" ? value.webgatesChunks : undefined;
  return Number.isInteger(n) && n >= 1 && n <= MAX_CHUNKS ? n : 0;
};

const version = (versionstamp, chunks) => (chunks > 0 ? `${versionstamp}.${chunks}` : versionstamp);

// null for a value stored inline; otherwise its UTF-8 chunks.
function split(value) {
  if (value.length <= INLINE_UNITS) return null;
  const bytes = encoder.encode(value);
  const n = Math.ceil(bytes.length / CHUNK_BYTES);
  if (n > MAX_CHUNKS) {
    throw new RangeError(`denoKvStore: a value of ${bytes.length} bytes exceeds the ${MAX_CHUNKS * CHUNK_BYTES}-byte limit`);
  }
  return Array.from({ length: n }, (_, i) => bytes.slice(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES));
}

function join(parts) {
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return decoder.decode(bytes);
}

const KEY_PART = (p) =>
  typeof p === "string" || typeof p === "number" || typeof p === "bigint" || typeof p === "boolean" || p instanceof Uint8Array;

export function denoKvStore(kv, options = {}) {
  if (!kv || typeof kv.atomic !== "function") {
    throw invalid("expected a Deno.Kv (await Deno.openKv())");
  }
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw invalid("options must be an object");
  }
  for (const k of Object.keys(options)) {
    if (k !== "prefix") throw invalid(`unknown option ${JSON.stringify(k)}`);
  }
  let prefix = options.prefix === undefined ? ["webgates"] : options.prefix;
  if (!Array.isArray(prefix) || !prefix.every(KEY_PART)) {
    throw invalid("prefix must be an array of Deno KV key parts (string, number, bigint, boolean, Uint8Array)");
  }
  prefix = [...prefix];
  const k = (key) => [...prefix, key];
  const chunkKey = (key, i) => [...prefix, key, i];

  // Adds the writes of `value` (and the deletion of chunks the previous value had beyond the new
  // value's) to `op`.
  const write = (op, key, value, chunks, options, oldChunks) => {
    if (chunks === null) {
      op.set(k(key), value, options);
    } else {
      op.set(k(key), { webgatesChunks: chunks.length, bytes: chunks.reduce((n, c) => n + c.length, 0) }, options);
      chunks.forEach((c, i) => op.set(chunkKey(key, i), c, options));
    }
    for (let i = chunks?.length ?? 0; i < oldChunks; i++) op.delete(chunkKey(key, i));
  };
  const written = (r, chunks) => (r.ok ? { ok: true, version: version(r.versionstamp, chunks?.length ?? 0) } : { ok: false });

  const store = {
    async get(key) {
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const e = await kv.get(k(key));
        if (e.versionstamp === null) return null;
        const n = chunkCount(e.value);
        // A non-string, non-manifest value is returned as it is: the caller reports it as malformed.
        if (n === 0) return { value: e.value, version: e.versionstamp };
        const parts = [];
        for (let i = 0; i < n; i += GET_MANY) {
          const keys = [];
          for (let j = i; j < Math.min(n, i + GET_MANY); j++) keys.push(chunkKey(key, j));
          parts.push(...(await kv.getMany(keys)));
        }
        if (parts.every((p) => p.versionstamp === e.versionstamp && p.value instanceof Uint8Array)) {
          return { value: join(parts.map((p) => p.value)), version: version(e.versionstamp, n) };
        }
        // Rewritten between the reads: read again.
      }
      throw new Error(`denoKvStore: ${key} kept changing while being read`);
    },

    async getMany(keys) {
      // kv.getMany reads 10 keys per call; a chunked value (rare: over 32,000 units) is then
      // read whole by get, which checks its chunks against the manifest.
      const out = [];
      for (let i = 0; i < keys.length; i += GET_MANY) {
        const batch = keys.slice(i, i + GET_MANY);
        const entries = await kv.getMany(batch.map(k));
        for (let j = 0; j < batch.length; j++) {
          const e = entries[j];
          if (e.versionstamp === null) out.push(null);
          else if (chunkCount(e.value) === 0) out.push({ value: e.value, version: e.versionstamp });
          else out.push(await store.get(batch[j]));
        }
      }
      return out;
    },

    async set(key, value, { expect = "any", expiresAt } = {}) {
      if (typeof value !== "string") throw invalid("values must be strings");
      const chunks = split(value);
      const options = {};
      if (typeof expiresAt === "number") {
        const ms = Math.floor(expiresAt - Date.now());
        if (ms > 0) options.expireIn = ms;
      }
      if (expect === "absent") {
        const op = kv.atomic().check({ key: k(key), versionstamp: null });
        write(op, key, value, chunks, options, 0);
        return written(await op.commit(), chunks);
      }
      if (typeof expect === "object" && expect !== null) {
        const m = typeof expect.version === "string" ? VERSION.exec(expect.version) : null;
        if (m === null) return { ok: false }; // not a version this store hands out: matches nothing
        const op = kv.atomic().check({ key: k(key), versionstamp: m[1] });
        write(op, key, value, chunks, options, Number(m[2] ?? 0));
        return written(await op.commit(), chunks);
      }
      if (expect !== "any") throw invalid('expect must be "absent", "any" or { version }');
      // Unconditional: read first to learn which chunks the current value has; retry if another
      // write lands in between.
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const current = await kv.get(k(key));
        const op = kv.atomic().check({ key: k(key), versionstamp: current.versionstamp });
        write(op, key, value, chunks, options, current.versionstamp === null ? 0 : chunkCount(current.value));
        const r = await op.commit();
        if (r.ok) return written(r, chunks);
      }
      throw new Error(`denoKvStore: too much contention writing ${key}`);
    },

    async delete(key) {
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const current = await kv.get(k(key));
        if (current.versionstamp === null) return;
        const n = chunkCount(current.value);
        const op = kv.atomic().check({ key: k(key), versionstamp: current.versionstamp }).delete(k(key));
        for (let i = 0; i < n; i++) op.delete(chunkKey(key, i));
        if ((await op.commit()).ok) return;
      }
      throw new Error(`denoKvStore: too much contention deleting ${key}`);
    },

    async list(p, { cursor, limit = 100 } = {}) {
      const max = Math.max(1, Math.floor(limit));
      const iter = kv.list(
        { start: [...prefix, p], end: [...prefix, p + "\u{10FFFF}"] },
        { cursor: cursor ?? undefined, batchSize: Math.min(max + 1, 1000) },
      );
      const keys = [];
      for await (const e of iter) {
        if (e.key.length !== prefix.length + 1) continue; // a chunk of a long value
        keys.push(e.key[prefix.length]);
        if (keys.length === max) break;
      }
      return { keys, cursor: keys.length === max ? iter.cursor : null };
    },
  };
  return store;
}
