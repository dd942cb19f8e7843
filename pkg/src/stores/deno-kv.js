// Deno KV adapter: linearizable compare-and-set through versionstamp checks in atomic operations.
// Keys live under `prefix` (default ["webgates"]) as a single string part, so listing by string
// prefix is a key range. Expiry hints become `expireIn` (Deno deletes expired keys lazily).

export function denoKvStore(kv, { prefix = ["webgates"] } = {}) {
  if (!kv || typeof kv.atomic !== "function") {
    throw Object.assign(new TypeError("denoKvStore: expected a Deno.Kv (await Deno.openKv())"), { code: "invalid_input" });
  }
  const k = (key) => [...prefix, key];
  return {
    async get(key) {
      const e = await kv.get(k(key));
      return e.versionstamp === null ? null : { value: e.value, version: e.versionstamp };
    },
    async set(key, value, { expect = "any", expiresAt } = {}) {
      const op = kv.atomic();
      if (expect === "absent") op.check({ key: k(key), versionstamp: null });
      else if (typeof expect === "object" && expect !== null) op.check({ key: k(key), versionstamp: expect.version });
      const options = {};
      if (typeof expiresAt === "number") {
        const ms = Math.floor(expiresAt - Date.now());
        if (ms > 0) options.expireIn = ms;
      }
      op.set(k(key), value, options);
      const r = await op.commit();
      return r.ok ? { ok: true, version: r.versionstamp } : { ok: false };
    },
    async delete(key) {
      await kv.delete(k(key));
    },
    async list(p, { cursor, limit = 100 } = {}) {
      const iter = kv.list({ start: [...prefix, p], end: [...prefix, p + "\u{10FFFF}"] }, { limit, cursor: cursor ?? undefined });
      const keys = [];
      for await (const e of iter) keys.push(e.key[prefix.length]);
      return { keys, cursor: keys.length === limit ? iter.cursor : null };
    },
  };
}
