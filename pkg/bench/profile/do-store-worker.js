// Profiling aid for bench/profile/do-store.mjs (not a benchmark of record): one Durable Object
// that runs the same Authority over different store adapters, to split the example Worker's
// refresh/login cost into library work and Durable Object storage work.
//
//   POST /renew?store=K    renews this store's chain once (newest token each time)
//   POST /issue?store=K    issues a session
// K: do      durableObjectStore(state.storage) as shipped (a storage.transaction per set)
//    notx    the same compare-and-set without storage.transaction (get + put; the object's
//            input gates already keep other events out between them)
//    kv      the synchronous SQLite-backed KV API (state.storage.kv), returning plain values
//    memory  MemoryStore inside the object (no storage at all)
import { Authority, MemoryStore, durableObjectStore } from "../../src/workerd.js";

function notxStore(storage) {
  return {
    async get(key) {
      const e = await storage.get(key);
      return e === undefined ? null : { value: e.value, version: e.version };
    },
    async set(key, value, { expect = "any" } = {}) {
      const current = await storage.get(key);
      const ok =
        expect === "any" ||
        (expect === "absent" && current === undefined) ||
        (typeof expect === "object" && expect !== null && current !== undefined && current.version === expect.version);
      if (!ok) return { ok: false };
      const version = crypto.randomUUID();
      await storage.put(key, { value, version });
      return { ok: true, version };
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

function syncKvStore(kv) {
  return {
    get(key) {
      const e = kv.get(key);
      return e === undefined ? null : { value: e.value, version: e.version };
    },
    set(key, value, { expect = "any" } = {}) {
      const current = kv.get(key);
      const ok =
        expect === "any" ||
        (expect === "absent" && current === undefined) ||
        (typeof expect === "object" && expect !== null && current !== undefined && current.version === expect.version);
      if (!ok) return { ok: false };
      const version = crypto.randomUUID();
      kv.put(key, { value, version });
      return { ok: true, version };
    },
    delete(key) {
      kv.delete(key);
    },
    list(prefix, { cursor, limit = 100 } = {}) {
      const keys = [];
      for (const [k] of kv.list({ prefix, limit: limit + 1, ...(cursor != null ? { start: cursor + "\0" } : {}) })) keys.push(k);
      const page = keys.slice(0, limit);
      return { keys: page, cursor: keys.length > limit ? page[page.length - 1] : null };
    },
  };
}

export class Profiler {
  constructor(state, env) {
    this.state = state;
    this.env = env;
    this.authorities = {};
    this.chains = {};
  }
  authority(kind) {
    if (!this.authorities[kind]) {
      const s = this.state.storage;
      const store =
        kind === "do" ? durableObjectStore(s) : kind === "notx" ? notxStore(s) : kind === "kv" ? syncKvStore(s.kv) : new MemoryStore();
      this.authorities[kind] = new Authority({
        issuer: "https://auth.example",
        audience: "api.example",
        signingKeys: [JSON.parse(this.env.SIGNING_KEY)],
        store,
      });
    }
    return this.authorities[kind];
  }
  async fetch(request) {
    const url = new URL(request.url);
    const kind = url.searchParams.get("store");
    if (!["do", "notx", "kv", "memory"].includes(kind)) return new Response("bad store", { status: 400 });
    if (kind === "kv" && !this.state.storage.kv) return new Response("no storage.kv", { status: 501 });
    // Each kind gets its own key space: prefix the subject so records do not collide.
    const a = this.authority(kind);
    if (url.pathname === "/issue") {
      const s = await a.issue({ subject: `alice-${kind}` });
      return Response.json({ accessToken: s.accessToken, expiresAt: s.accessExpiresAt }, { headers: { "set-cookie": `wg_refresh=${s.refreshToken}` } });
    }
    if (url.pathname === "/renew") {
      this.chains[kind] ??= (await a.issue({ subject: `alice-${kind}` })).refreshToken;
      const r = await a.renew(this.chains[kind]);
      if (r.outcome !== "renewed") return Response.json({ error: r.outcome }, { status: 500 });
      this.chains[kind] = r.refreshToken;
      return Response.json({ accessToken: r.accessToken, expiresAt: r.accessExpiresAt }, { headers: { "set-cookie": `wg_refresh=${r.refreshToken}` } });
    }
    return new Response("not found", { status: 404 });
  }
}

export default {
  fetch(request, env) {
    return env.PROFILER.get(env.PROFILER.idFromName("p")).fetch(request);
  },
};
