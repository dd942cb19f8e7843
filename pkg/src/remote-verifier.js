// createRemoteVerifier: the JS driver of the core's sans-IO JWKS cache (the wasm `JwksCache`),
// shared by the main entry and `webgates-sessions/verifier`. The cache decides everything (what
// to fetch and when, how long a document lives, the cooldown on unknown kids, the stale bound,
// the document checks); this file only performs the fetches it asks for, with the runtime's
// `fetch`, a timeout and a byte cap, and reports back.
//
// Workers safety (jose #355): a promise or stream created while handling one request must not be
// awaited by another. So no promise is ever shared between verify calls: the call that polls a
// fetch out of the cache performs and awaits it itself; a call that needs the result of a fetch
// another call started waits on its own timers and re-reads plain state (`settled`), never
// touching the other call's I/O objects.

import { codedError } from "./errors.js";

/** Verdicts that a newer document may change. */
const RETRYABLE = new Set(["token_unknown_kid", "jwks_unavailable", "jwks_stale"]);

const OPTION_KEYS = new Set([
  "issuer",
  "audience",
  "jwksUrl",
  "fetch",
  "timeoutMs",
  "cooldown",
  "staleWindow",
  "minMaxAge",
  "maxMaxAge",
  "defaultMaxAge",
  "maxBytes",
  "cache",
  "cacheKey",
  "leeway",
  "maxTokenAge",
  "maxTokenBytes",
  "clock",
]);

const JS_ONLY = new Set(["fetch", "timeoutMs", "cache", "cacheKey", "clock"]);

const invalid = (what, why) => codedError(TypeError, "invalid_input", `${what}: ${why}`);
const str = (v) => (typeof v === "string" ? v : undefined);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const TIMED_OUT = Symbol("timeout");

/** Reads at most `max + 1` bytes of `body`; `null` (and the stream cancelled) beyond `max`. */
async function readCapped(body, max, controller) {
  if (body === null || body === undefined) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      // Stop reading: cancel the stream and abort the request, so the connection closes.
      controller.abort();
      reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** `createRemoteVerifier` over one wasm module's `JwksCache` class. */
export function remoteVerifierFactory(WasmJwksCache) {
  class RemoteVerifier {
    #inner;
    #fetch;
    #timeoutMs;
    #clock;
    #store;
    #key;
    /** Whether the persistent cache was read (or is absent). */
    #seeded;
    /** The fetch in flight, as plain data: `{ settled }`. */
    #inflight = null;
    /** The accepted document's text and caching headers, to persist again on a 304. */
    #body = null;
    #headers = { "cache-control": null, expires: null, etag: null };
    /** When the cache next wants a poll (its `pollTimeout`), and when it was last asked. */
    #due = 0;
    #polledAt = 0;

    constructor(input) {
      if (input === null || typeof input !== "object") throw invalid("options", "must be a plain options object");
      // One copy of the own enumerable options: a Proxy or a throwing getter fails here, coded.
      let options;
      try {
        if (Array.isArray(input)) throw new TypeError("array");
        options = { ...input };
      } catch {
        throw invalid("options", "must be a plain options object");
      }
      for (const k of Object.keys(options)) {
        if (!OPTION_KEYS.has(k)) throw invalid("options", `unknown option ${JSON.stringify(k.slice(0, 64))}`);
      }
      const { fetch: fetchFn, timeoutMs = 5000, cache, cacheKey, clock, jwksUrl } = options;
      if (typeof jwksUrl !== "string") throw invalid("jwksUrl", "must be a string");
      let url;
      try {
        url = new URL(jwksUrl);
      } catch {
        throw invalid("jwksUrl", "must be an absolute URL");
      }
      if (url.protocol !== "https:" && url.protocol !== "http:") throw invalid("jwksUrl", "must be http(s)");
      if (fetchFn !== undefined && typeof fetchFn !== "function") throw invalid("fetch", "must be a function");
      if (fetchFn === undefined && typeof globalThis.fetch !== "function") throw invalid("fetch", "no global fetch: pass one");
      if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > 3_600_000) {
        throw codedError(RangeError, "invalid_input", "timeoutMs: must be 1 ms to 1 h");
      }
      if (clock !== undefined && typeof clock !== "function") throw invalid("clock", "must be a function");
      if (cache !== undefined && (cache === null || typeof cache.get !== "function" || typeof cache.put !== "function")) {
        throw invalid("cache", "must have get(key) and put(key, value)");
      }
      if (cacheKey !== undefined && typeof cacheKey !== "string") throw invalid("cacheKey", "must be a string");
      const core = {};
      for (const [k, v] of Object.entries(options)) if (!JS_ONLY.has(k)) core[k] = v;
      // The core counts a fetch unanswered past its own deadline as failed; the abort timer
      // below fires first and reports the timeout itself.
      core.fetchTimeout = Math.min(3600, Math.max(1, Math.ceil(timeoutMs / 1000)));
      this.#inner = new WasmJwksCache(core);
      // Bound here: a detached `fetch` method would throw "Illegal invocation" on some runtimes.
      this.#fetch = fetchFn ?? ((input, init) => globalThis.fetch(input, init));
      this.#timeoutMs = timeoutMs;
      this.#clock = clock ?? Date.now;
      this.#store = cache;
      this.#key = cacheKey ?? `webgates-jwks:${jwksUrl}`;
      this.#seeded = cache === undefined;
    }

    #use() {
      if (this.#inner === undefined) throw codedError(Error, "instance_freed", "this remote verifier was freed");
      return this.#inner;
    }

    /**
     * The claims of `accessToken`, or a WebgatesError: the codes of `Verifier.verify`, and
     * `jwks_*` when no usable document is at hand.
     */
    async verify(accessToken) {
      const inner = this.#use();
      if (!this.#seeded) await this.#seed(inner);
      const now = this.#clock();
      // The warm path skips the poll until the cache's own next poll time (or a clock that
      // stepped back): no wasm call but the verify itself.
      if (typeof now !== "number" || now >= this.#due || now < this.#polledAt) {
        const request = this.#poll(inner, now);
        if (request !== null) await this.#run(inner, request);
      }
      try {
        return inner.verify(accessToken, this.#clock());
      } catch (e) {
        if (!RETRYABLE.has(e?.code)) throw e;
        // An unknown kid was noted (the next poll may fetch, once per cooldown), or there is
        // no usable document: take a newer one if a fetch is allowed or already running.
        const again = this.#poll(inner, this.#clock());
        if (again !== null) await this.#run(inner, again);
        else if (this.#inflight !== null) await this.#waitForFetch(this.#inflight);
        else throw this.#explain(inner, e);
        this.#use();
        try {
          return inner.verify(accessToken, this.#clock());
        } catch (e2) {
          throw this.#explain(inner, e2);
        }
      }
    }

    /** `pollFetch(now)`, remembering when the cache wants the next poll. */
    #poll(inner, now) {
      const request = inner.pollFetch(now);
      this.#polledAt = now;
      this.#due = request === null ? (inner.pollTimeout() ?? Infinity) : 0;
      return request;
    }

    /** Releases the wasm memory now; later calls throw `instance_freed`. */
    free() {
      const inner = this.#inner;
      this.#inner = undefined;
      inner?.free();
    }

    /** `jwks_unavailable` after a failed fetch says why: the failure's own code. */
    #explain(inner, e) {
      if (e?.code !== "jwks_unavailable") return e;
      const failure = this.#inner === inner ? inner.lastFailure() : null;
      return failure === null ? e : codedError(Error, failure, "no JWKS yet: the last fetch failed");
    }

    /** Waits, on this call's own timers, until `flight` settles or its timeout has passed. */
    async #waitForFetch(flight) {
      let waited = 0;
      let delay = 1;
      while (!flight.settled && waited <= this.#timeoutMs + 50) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        waited += delay;
        delay = Math.min(delay * 2, 25);
      }
    }

    /** Reads the persistent cache once it answers (each cold call reads it itself). */
    async #seed(inner) {
      let stored = null;
      try {
        stored = await this.#store.get(this.#key);
      } catch {
        // An unreadable cache is a miss: the document is fetched.
      }
      this.#seeded = true;
      this.#due = 0;
      if (this.#inner !== inner || stored === null || typeof stored !== "object") return;
      const { body, headers = {}, fetchedAt } = stored;
      if (typeof body !== "string" || typeof fetchedAt !== "number" || !Number.isFinite(fetchedAt) || fetchedAt < 0) return;
      const h = headers ?? {};
      const handled = inner.handleStored(
        this.#clock(),
        fetchedAt,
        str(h["cache-control"]),
        str(h.expires),
        str(h.etag),
        encoder.encode(body),
      );
      if (handled.kind === "updated") {
        this.#body = body;
        this.#headers = { "cache-control": str(h["cache-control"]) ?? null, expires: str(h.expires) ?? null, etag: str(h.etag) ?? null };
      }
    }

    /** Performs `request`, reports the outcome to the cache, and persists a new document. */
    async #run(inner, request) {
      const flight = { settled: false };
      this.#inflight = flight;
      try {
        const got = await this.#get(request);
        if (this.#inner !== inner) return;
        const now = this.#clock();
        if (got.failure !== undefined) {
          inner.handleFailure(now, request.id, got.failure);
          return;
        }
        const { status, headers, body } = got;
        const cacheControl = headers.get("cache-control") ?? undefined;
        const expires = headers.get("expires") ?? undefined;
        const etag = headers.get("etag") ?? undefined;
        const handled = inner.handleResponse(now, request.id, status, cacheControl, expires, etag, body);
        const seen = { "cache-control": cacheControl ?? null, expires: expires ?? null, etag: etag ?? null };
        if (handled.kind === "updated") {
          this.#body = decoder.decode(body);
          this.#headers = seen;
        } else if (handled.kind === "not_modified") {
          // A 304 may omit headers: those it sends replace the stored ones.
          const old = this.#headers;
          this.#headers = { "cache-control": seen["cache-control"] ?? old["cache-control"], expires: seen.expires ?? old.expires, etag: seen.etag ?? old.etag };
        }
        if ((handled.kind === "updated" || handled.kind === "not_modified") && this.#store !== undefined && this.#body !== null) {
          try {
            await this.#store.put(this.#key, { body: this.#body, headers: this.#headers, fetchedAt: now });
          } catch {
            // Persisting is an optimisation: the document is in memory either way.
          }
        }
      } finally {
        flight.settled = true;
        if (this.#inflight === flight) this.#inflight = null;
        this.#due = 0;
      }
    }

    /** `GET request.url` within the timeout, reading at most `maxBytes + 1` bytes. */
    async #get(request) {
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort(TIMED_OUT);
      }, this.#timeoutMs);
      try {
        const headers = { accept: "application/jwk-set+json, application/json" };
        if (request.ifNoneMatch !== null) headers["if-none-match"] = request.ifNoneMatch;
        const response = await this.#fetch(request.url, { method: "GET", headers, signal: controller.signal });
        if (response.status !== 200) {
          // 304 or an error status: the body is not needed.
          response.body?.cancel().catch(() => {});
          return { status: response.status, headers: response.headers, body: new Uint8Array(0) };
        }
        const length = Number(response.headers.get("content-length") ?? NaN);
        if (Number.isFinite(length) && length > request.maxBytes) {
          controller.abort();
          response.body?.cancel().catch(() => {});
          return { failure: "too_large" };
        }
        const body = await readCapped(response.body, request.maxBytes, controller);
        if (body === null) return { failure: "too_large" };
        return { status: response.status, headers: response.headers, body };
      } catch {
        return { failure: timedOut ? "timeout" : "network" };
      } finally {
        clearTimeout(timer);
      }
    }
  }

  return function createRemoteVerifier(options) {
    return new RemoteVerifier(options);
  };
}
