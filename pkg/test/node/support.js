// Shared helpers for the Node tests (not a test file itself). Everything is deterministic: time
// comes from an injected clock, interleavings from a seeded PRNG; nothing sleeps.
import assert from "node:assert/strict";
import { Authority, MemoryStore, Verifier, WebgatesError, generateSigningKey } from "../../dist/node.js";

export const ISSUER = "https://auth.example";
export const AUDIENCE = "api.example";
export const T0 = 1_700_000_000_000; // 2023-11-14T22:13:20Z, epoch ms
export const SEC = 1000;

/** `str` with the character at `i` changed ("A" <-> "B"): in a token segment, always a different,
 * well-formed base64url character. */
export const flipChar = (str, i) => str.slice(0, i) + (str[i] === "A" ? "B" : "A") + str.slice(i + 1);

/** The token with its signature's first character changed: always a different, well-formed
 * signature (that character carries 6 bits of R; the last ones may carry padding bits). */
export const tamperSignature = (token) => flipChar(token, token.lastIndexOf(".") + 1);

/** Every declared error code: the package's own list, which errors.test.js checks against
 * index.d.ts's `ErrorCode` and against the core's `code()` arms in src/errors.rs. */
export const ERROR_CODES = new Set(WebgatesError.codes);

/** A settable clock: `clock.now` is what the library calls. */
export function manualClock(start = T0) {
  let t = start;
  return {
    now: () => t,
    advance(ms) {
      t += ms;
      return t;
    },
    set(ms) {
      t = ms;
    },
    get t() {
      return t;
    },
  };
}

/** An Authority with test defaults; `overrides` are merged into the options. */
export function setup(overrides = {}) {
  const clock = overrides.clockObj ?? manualClock();
  const key = overrides.key ?? generateSigningKey();
  const store = overrides.store ?? new MemoryStore();
  const events = [];
  const { clockObj: _c, key: _k, ...rest } = overrides;
  const options = {
    issuer: ISSUER,
    audience: AUDIENCE,
    signingKeys: [key],
    store,
    clock: clock.now,
    onEvent: (e) => events.push(e),
    ...rest,
  };
  const authority = new Authority(options);
  const verifier = () => new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: authority.jwks(), clock: clock.now });
  return { authority, clock, key, store, events, verifier, options };
}

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Asserts `err` is one of this package's errors: an Error (never a wasm trap) with a known code. */
export function assertPackageError(err, { code, ctor, secrets = [] } = {}) {
  assert.ok(err instanceof Error, `expected an Error, got ${String(err)}`);
  assert.ok(!(err instanceof WebAssembly.RuntimeError), `wasm trap: ${err.message}`);
  assert.equal(typeof err.code, "string", `error without a code: ${err.message}`);
  assert.ok(ERROR_CODES.has(err.code), `undeclared code ${err.code}`);
  if (code !== undefined) {
    if (Array.isArray(code)) assert.ok(code.includes(err.code), `code ${err.code} not in ${code}`);
    else assert.equal(err.code, code, `message: ${err.message}`);
  }
  if (ctor !== undefined) {
    const ctors = Array.isArray(ctor) ? ctor : [ctor];
    assert.ok(
      ctors.some((c) => err.constructor === c),
      `expected ${ctors.map((c) => c.name)}, got ${err.constructor.name}: ${err.message}`,
    );
  }
  for (const s of secrets) {
    if (typeof s !== "string" || s.length < 16) continue;
    assert.ok(!String(err.message).includes(s), "error message contains a token");
    assert.ok(!String(err.stack ?? "").includes(s), "error stack contains a token");
  }
  return err;
}

/** Runs `fn` expecting a synchronous throw; returns the error after `assertPackageError`. */
export function throwsCode(fn, expected = {}) {
  let threw = false;
  let err;
  try {
    fn();
  } catch (e) {
    threw = true;
    err = e;
  }
  assert.ok(threw, "expected a throw");
  return assertPackageError(err, expected);
}

/**
 * Calls an async method expecting a rejected promise (never a synchronous throw, never a
 * resolution); returns the error after `assertPackageError`.
 */
export async function rejectsCode(fn, expected = {}) {
  let p;
  try {
    p = fn();
  } catch (e) {
    assert.fail(`async method threw synchronously: ${e?.message ?? e}`);
  }
  assert.ok(p instanceof Promise, "async method did not return a Promise");
  let err;
  let rejected = false;
  try {
    await p;
  } catch (e) {
    rejected = true;
    err = e;
  }
  assert.ok(rejected, "expected a rejection");
  return assertPackageError(err, expected);
}

/** Splits a compact JWS into its decoded header, payload and raw signature. */
export function decodeJws(token) {
  const [h, p, s] = token.split(".");
  return {
    header: JSON.parse(Buffer.from(h, "base64url").toString("utf8")),
    payload: JSON.parse(Buffer.from(p, "base64url").toString("utf8")),
    signature: Buffer.from(s, "base64url"),
  };
}

/** Asserts `obj` has exactly these own keys. */
export function assertKeys(obj, keys) {
  assert.deepEqual(Object.keys(obj).sort(), [...keys].sort());
}

export const ISSUED_KEYS = [
  "accessToken",
  "refreshToken",
  "sessionId",
  "familyId",
  "subject",
  "accessExpiresAt",
  "idleExpiresAt",
  "absoluteExpiresAt",
];
export const RENEWED_KEYS = ["outcome", ...ISSUED_KEYS, "generation", "retriedInGrace"];

/** Renews, failing the test unless the outcome is `renewed`. */
export async function mustRenew(authority, token) {
  const r = await authority.renew(token);
  assert.equal(r.outcome, "renewed", `expected renewed, got ${JSON.stringify(r)}`);
  return r;
}

/** A full issue → verify → renew → verify round trip on `authority`. */
export async function roundTrip(authority, clockNow, subject = "roundtrip-user") {
  const s = await authority.issue({ subject });
  const v = new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: authority.jwks(), clock: clockNow });
  assert.equal(v.verify(s.accessToken).sub, subject);
  const r = await mustRenew(authority, s.refreshToken);
  assert.equal(r.generation, 1);
  assert.equal(v.verify(r.accessToken).sid, s.sessionId);
  return r;
}
