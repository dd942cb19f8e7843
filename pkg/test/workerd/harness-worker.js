// Test-only Worker: runs the store conformance suite (webgates-sessions/conformance) and concurrent renewals INSIDE workerd,
// against Durable Object storage and Workers KV, and answers with JSON for the node:test files.
//
//   GET  /<b>/conformance             → runStoreConformance(...) result
//   GET  /cases                       → storeConformanceCases()
//   GET  /rpc/<what>                  → an error thrown in a Durable Object, caught across RPC
//   POST /<b>/issue                   → { refreshToken, sessionId }
//   POST /<b>/renew  (body: token)    → the renew outcome
//   GET  /<b>/events?sid=…            → counts of lifecycle events for that session
//   POST /<b>/long-subject            → a session's whole life for a subject whose escaped keys
//                                       would be 807 bytes (Workers KV refuses keys over 512)
// where <b> is do, dosql or kv.
//
// /do/* runs in one Durable Object (idFromName("harness")), so each concurrent request is a
// separate event delivered to the object; /dosql/* the same in a SQLite-backed Durable Object
// (what `new_sqlite_classes` deploys); /kv/* runs in the Worker on a KV namespace.

import { DurableObject } from "cloudflare:workers";
import { Authority, Verifier, WebgatesError, durableObjectStore, isWebgatesError, workersKvStore } from "../../src/workerd.js";
import { runStoreConformance, storeConformanceCases } from "../../src/conformance/workerd.js";

function countingAuthority(env, store, counts) {
  return new Authority({
    issuer: "https://harness.test",
    audience: "harness",
    signingKeys: [JSON.parse(env.SIGNING_KEY)],
    store,
    onEvent: (e) => {
      if (!e.sessionId) return;
      const c = counts.get(e.sessionId) ?? {};
      c[e.type] = (c[e.type] ?? 0) + 1;
      counts.set(e.sessionId, c);
    },
  });
}

async function route(path, request, store, authority, counts, namespace) {
  if (path === "/conformance") return Response.json(await runStoreConformance(store, namespace));
  if (path === "/issue") {
    const s = await authority.issue({ subject: "racer" });
    return Response.json({ refreshToken: s.refreshToken, sessionId: s.sessionId });
  }
  if (path === "/renew") {
    const r = await authority.renew(await request.text());
    return Response.json(r);
  }
  if (path === "/long-subject") {
    const subject = "é".repeat(128); // 256 bytes, every one escaped in keys
    const issued = await authority.issue({ subject });
    const listed = (await authority.listSessions(subject)).sessions.map((x) => x.sessionId);
    const renewed = await authority.renew(issued.refreshToken);
    const revoked = await authority.revoke({ subject });
    const afterRevoke = await authority.renew(renewed.refreshToken);
    // The backend's own limit, so the test knows the long keys were really at stake.
    // (The Durable Object adapter may answer synchronously, so every call goes through a Promise.)
    const long = "x".repeat(513);
    const refusesLongKeys = await Promise.resolve()
      .then(() => store.set(long, "{}", { expect: "any" }))
      .then(() => false, () => true);
    await Promise.resolve().then(() => store.delete(long)).catch(() => {});
    return Response.json({ sessionId: issued.sessionId, listed, renewed: renewed.outcome, revoked, afterRevoke, refusesLongKeys });
  }
  if (path === "/events") {
    return Response.json(counts.get(new URL(request.url).searchParams.get("sid")) ?? {});
  }
  return new Response("not found", { status: 404 });
}

const errorResponse = (e) => Response.json({ error: e?.code ?? "internal", message: String(e?.message ?? e) }, { status: 500 });

export class HarnessObject {
  constructor(state, env) {
    this.state = state;
    this.env = env;
    this.counts = new Map();
    this.store = durableObjectStore(state.storage);
    this.authority = null;
  }

  async fetch(request) {
    try {
      this.authority ??= countingAuthority(this.env, this.store, this.counts);
      const path = new URL(request.url).pathname.replace(/^\/[a-z]+/, "");
      return await route(path, request, this.store, this.authority, this.counts, "do");
    } catch (e) {
      return errorResponse(e);
    }
  }
}

export class HarnessSqlObject extends HarnessObject {}

// Errors thrown inside a Durable Object and caught by the Worker across Workers RPC, which keeps an
// error's message and type but not its `code`.
export class RpcObject extends DurableObject {
  #authority(store = durableObjectStore(this.ctx.storage)) {
    return new Authority({ issuer: "https://harness.test", audience: "harness", signingKeys: [JSON.parse(this.env.SIGNING_KEY)], store });
  }
  fractionalTtl() {
    return new Authority({ issuer: "i", audience: "a", signingKeys: [JSON.parse(this.env.SIGNING_KEY)], store: durableObjectStore(this.ctx.storage), accessTokenTtl: 300.5 });
  }
  badToken() {
    const authority = this.#authority();
    return new Verifier({ issuer: "https://harness.test", audience: "harness", jwks: authority.jwks() }).verify("not.a.token");
  }
  async storeDown() {
    const down = () => {
      throw new Error("database unreachable");
    };
    await this.#authority({ get: down, set: down, delete: down, list: down }).issue({ subject: "u" });
  }
}

async function rpcError(env, what) {
  try {
    await env.RPC.get(env.RPC.idFromName("rpc"))[what]();
    return Response.json({ threw: false });
  } catch (e) {
    const seen = { ctor: e?.constructor?.name, message: e?.message, code: e?.code ?? null };
    const recovered = WebgatesError.from(e);
    return Response.json({ threw: true, ...seen, recovered: recovered?.code ?? null, same: recovered === e, is: isWebgatesError(e), codeAfter: e?.code ?? null });
  }
}

const kvCounts = new Map(); // per isolate; Miniflare runs one isolate

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    try {
      if (pathname === "/cases") return Response.json(storeConformanceCases());
      if (pathname.startsWith("/rpc/")) return await rpcError(env, pathname.slice(5));
      if (pathname.startsWith("/do/")) {
        return await env.HARNESS.get(env.HARNESS.idFromName("harness")).fetch(request);
      }
      if (pathname.startsWith("/dosql/")) {
        return await env.HARNESS_SQL.get(env.HARNESS_SQL.idFromName("harness")).fetch(request);
      }
      if (pathname.startsWith("/kv/")) {
        const store = workersKvStore(env.KV);
        const authority = countingAuthority(env, store, kvCounts);
        try {
          return await route(pathname.slice(3), request, store, authority, kvCounts, "kv");
        } finally {
          authority.free();
        }
      }
      return new Response("not found", { status: 404 });
    } catch (e) {
      return errorResponse(e);
    }
  },
};
