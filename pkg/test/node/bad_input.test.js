// Bad input to every export: a thrown (sync) or rejected (async) TypeError/RangeError/Error with a
// `code` — never a WebAssembly.RuntimeError, never a silent default — and the instance stays
// usable afterwards. Error messages never echo the tokens passed in.
import assert from "node:assert/strict";
import test from "node:test";
import {
  Authority,
  MemoryStore,
  Verifier,
  denoKvStore,
  durableObjectStore,
  generateSigningKey,
  workersKvStore,
} from "../../dist/node.js";
import {
  AUDIENCE,
  ISSUER,
  SEC,
  T0,
  assertPackageError,
  manualClock,
  mustRenew,
  rejectsCode,
  roundTrip,
  setup,
  throwsCode,
} from "./support.js";

const HUGE = "a".repeat(10 * 1024 * 1024); // 10 MB
const LONE = ["\uD800", "\uDFFF", "a\uD83Db", "\uDE00\uD83D"]; // lone / reversed surrogates

/** Values of every JS type, none of them a valid options object, string or number. */
const NON_OBJECTS = [undefined, null, 0, 1, -1, NaN, Infinity, true, false, "", "str", HUGE, Symbol("s"), 10n];
const NOT_PLAIN = [[], [1, 2], () => ({}), function named() {}, class K {}];
const NON_STRINGS = [undefined, null, 0, 1, NaN, Infinity, -Infinity, true, false, {}, [], ["a"], () => "a", Symbol("s"), 10n, new String("boxed")];
const NON_NUMBERS = ["300", "", null, true, {}, [], () => 1, Symbol("s"), 10n, new Number(5)];
const BAD_NUMBERS = [NaN, Infinity, -Infinity, -1, -0.001, 1e308, Number.MAX_VALUE];

const ERROR_CTORS = [TypeError, RangeError, Error];
const DURATIONS = ["accessTokenTtl", "refreshIdleTtl", "refreshAbsoluteTtl", "graceWindow", "leaseTtl", "leeway", "renewalWindow"];

function label(v) {
  if (typeof v === "string") return v.length > 20 ? `string(${v.length})` : JSON.stringify(v);
  if (typeof v === "symbol" || typeof v === "bigint") return `${typeof v}`;
  if (typeof v === "function") return "function";
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/** A usable authority plus valid options to perturb. */
function fixture() {
  const clock = manualClock();
  const key = generateSigningKey();
  const base = { issuer: ISSUER, audience: AUDIENCE, signingKeys: [key], store: new MemoryStore(), clock: clock.now };
  const authority = new Authority(base);
  return { clock, key, base, authority };
}

test("new Authority(non-object) → TypeError invalid_input", () => {
  for (const v of [...NON_OBJECTS, ...NOT_PLAIN]) {
    throwsCode(() => new Authority(v), { code: "invalid_input", ctor: TypeError });
  }
  throwsCode(() => new Authority(), { code: "invalid_input", ctor: TypeError });
});

test("new Authority: missing or wrong-typed required options", () => {
  const { base } = fixture();
  for (const field of ["issuer", "audience", "signingKeys", "store"]) {
    const { [field]: _drop, ...missing } = base;
    throwsCode(() => new Authority(missing), { code: "invalid_input", ctor: TypeError });
  }
  for (const field of ["issuer", "audience"]) {
    for (const v of NON_STRINGS.filter((x) => x !== undefined)) {
      throwsCode(() => new Authority({ ...base, [field]: v }), { code: "invalid_input", ctor: TypeError });
    }
    throwsCode(() => new Authority({ ...base, [field]: HUGE }), { code: "invalid_input", ctor: RangeError });
    for (const s of LONE) throwsCode(() => new Authority({ ...base, [field]: s }), { code: "invalid_input", ctor: TypeError });
    for (const s of ["", "a\nb", "tab\there", "\u0000", "x".repeat(1025)]) {
      throwsCode(() => new Authority({ ...base, [field]: s }), { code: ["config_invalid", "invalid_input"] });
    }
  }
  for (const v of [undefined, null, 42, "key", {}, base.signingKeys[0], () => [], new Set(base.signingKeys)]) {
    throwsCode(() => new Authority({ ...base, signingKeys: v }), { code: "invalid_input", ctor: TypeError });
  }
  for (const v of [[null], [42], ["jwk"], [[]], [() => ({})], [{}], [{ kty: "OKP" }]]) {
    throwsCode(() => new Authority({ ...base, signingKeys: v }));
  }
  const { d: _d, ...publicOnly } = base.signingKeys[0];
  throwsCode(() => new Authority({ ...base, signingKeys: [publicOnly] }), { code: "key_missing_private" });
  throwsCode(() => new Authority({ ...base, signingKeys: Array(65).fill(generateSigningKey()) }), { code: "config_invalid" });
  for (const field of ["clock", "onEvent", "claimsHook"]) {
    for (const v of [null, 0, "fn", {}, [], true, Symbol("s")]) {
      throwsCode(() => new Authority({ ...base, [field]: v }), { code: "invalid_input", ctor: TypeError });
    }
  }
});

test("new Authority: a store's maxKeyBytes must be a whole number of at least 128", () => {
  const { base } = fixture();
  const inner = new MemoryStore();
  const store = (maxKeyBytes) => ({
    maxKeyBytes,
    get: (k) => inner.get(k),
    set: (k, v, o) => inner.set(k, v, o),
    delete: (k) => inner.delete(k),
    list: (p, o) => inner.list(p, o),
  });
  for (const v of ["512", null, true, {}, [512], 512n, Symbol("s"), () => 512]) {
    throwsCode(() => new Authority({ ...base, store: store(v) }), { code: "invalid_input", ctor: TypeError });
  }
  for (const v of [127, 0, -1, 512.5, NaN, Infinity, -Infinity]) {
    throwsCode(() => new Authority({ ...base, store: store(v) }), { code: "invalid_input", ctor: RangeError });
  }
  const throwing = store(512);
  Object.defineProperty(throwing, "maxKeyBytes", {
    get() {
      throw new Error("boom");
    },
  });
  throwsCode(() => new Authority({ ...base, store: throwing }), { code: "invalid_input", ctor: TypeError });
  for (const v of [undefined, 128, 512, 2 ** 53]) new Authority({ ...base, store: store(v) }).free();
  // Read from the store given, not from MemoryStore's internal synchronous twin.
  const memory = new MemoryStore();
  memory.maxKeyBytes = 127;
  throwsCode(() => new Authority({ ...base, store: memory }), { code: "invalid_input", ctor: RangeError });
});

test("new Authority: NaN / Infinity / -1 / wrong types for every duration", () => {
  const { base } = fixture();
  for (const field of DURATIONS) {
    for (const v of BAD_NUMBERS) {
      const e = throwsCode(() => new Authority({ ...base, [field]: v }), { code: ["invalid_input", "config_invalid"], ctor: RangeError });
      assert.ok(e.message.includes(field) || e.code === "config_invalid", `${field}=${v}: ${e.message}`);
    }
    for (const v of NON_NUMBERS) {
      throwsCode(() => new Authority({ ...base, [field]: v }), { code: "invalid_input", ctor: TypeError });
    }
  }
  // In range for the binding but out of range (or inconsistent) for the core: config_invalid.
  for (const [field, v] of [
    ["accessTokenTtl", 0],
    ["refreshAbsoluteTtl", 59],
    ["refreshIdleTtl", 30],
    ["graceWindow", 601],
    ["leaseTtl", 0.05],
    ["leeway", 301],
  ]) {
    throwsCode(() => new Authority({ ...base, [field]: v }), { code: "config_invalid", ctor: RangeError });
  }
  throwsCode(() => new Authority({ ...base, refreshIdleTtl: 7200, refreshAbsoluteTtl: 3600 }), { code: "config_invalid", ctor: RangeError });
  throwsCode(() => new Authority({ ...base, graceWindow: 120, refreshIdleTtl: 120 }), { code: "config_invalid", ctor: RangeError });
  // Explicit undefined means "use the default".
  const ok = new Authority({ ...base, accessTokenTtl: undefined, graceWindow: undefined });
  assert.equal(typeof ok.activeKid(), "string");
});

test("new Authority: unknown or misspelled option keys are refused, naming the key", () => {
  const { base } = fixture();
  for (const key of [
    "accessTokenTTL",
    "grace_window",
    "access_token_ttl",
    "Issuer",
    "signingKey",
    "keys",
    "jwks",
    "refreshTokenTtl",
    "idleTimeout",
    "onevent",
    "claimshook",
    "maxTokenBytes",
    "",
    "x".repeat(500),
  ]) {
    const e = throwsCode(() => new Authority({ ...base, [key]: 60 }), { code: "invalid_input", ctor: TypeError });
    assert.ok(e.message.includes(key.slice(0, 64)), e.message);
  }
  const proto = Object.defineProperty({ ...base }, "__proto__", { value: 1, enumerable: true });
  throwsCode(() => new Authority(proto), { code: "invalid_input", ctor: TypeError });
});

test("clock: bad return values at construction → coded errors", () => {
  const { base } = fixture();
  for (const v of [NaN, Infinity, -Infinity, -1, 8.64e15 + 1, 1e20, "1700000000000", null, undefined, true, {}, [], 10n, Symbol("t"), new Date(T0), Promise.resolve(T0)]) {
    throwsCode(() => new Authority({ ...base, clock: () => v }), { code: "invalid_input", ctor: [TypeError, RangeError] });
    throwsCode(() => new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [] }, clock: () => v }), {
      code: "invalid_input",
      ctor: [TypeError, RangeError],
    });
  }
  const throwing = () => {
    throw new Error("clock broke");
  };
  throwsCode(() => new Authority({ ...base, clock: throwing }), { code: "invalid_input", ctor: TypeError });
});

test("clock: turning bad after construction fails each operation with a code; recovers when good", async () => {
  const { base, key } = fixture();
  let value = T0;
  const clock = () => value;
  const authority = new Authority({ ...base, clock });
  const verifier = new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: authority.jwks(), clock });
  const s = await authority.issue({ subject: "clocky" });
  for (const bad of [NaN, Infinity, -1, "now", null, undefined, 1e20]) {
    value = bad;
    const expect = { code: "invalid_input", ctor: [TypeError, RangeError], secrets: [s.refreshToken, s.accessToken] };
    await rejectsCode(() => authority.issue({ subject: "clocky" }), expect);
    await rejectsCode(() => authority.renew(s.refreshToken), expect);
    await rejectsCode(() => authority.revoke({ sessionId: s.sessionId }), expect);
    await rejectsCode(() => authority.listSessions("clocky"), expect);
    throwsCode(() => authority.renewalAdvice(T0), expect);
    throwsCode(() => verifier.verify(s.accessToken), expect);
  }
  value = T0 + SEC;
  const r = await mustRenew(authority, s.refreshToken);
  assert.equal(r.generation, 1);
  assert.equal(verifier.verify(r.accessToken).sub, "clocky");
  assert.equal((await authority.listSessions("clocky")).sessions.length, 1);
  void key;
});

test("clock: flaky readings inside an operation and steps backwards never trap", async () => {
  let n = 0;
  let base = T0;
  // Good on the check before each operation, garbage on every other read.
  const flaky = () => (n++ % 2 === 0 ? base : NaN);
  const { authority } = setup({ clock: flaky });
  for (let i = 0; i < 20; i++) {
    try {
      const s = await authority.issue({ subject: "flaky" });
      const r = await authority.renew(s.refreshToken);
      assert.ok(["renewed", "rejected"].includes(r.outcome));
    } catch (e) {
      assertPackageError(e, { code: "invalid_input" });
    }
  }
  const back = manualClock();
  const b = setup({ clockObj: back });
  const s = await b.authority.issue({ subject: "backwards" });
  const r1 = await mustRenew(b.authority, s.refreshToken);
  for (const t of [T0 - 86_400 * SEC, 0, T0 + 1, 5]) {
    back.set(t);
    const r = await b.authority.renew(r1.refreshToken);
    assert.ok(["renewed", "rejected", "replayDetected", "leaseHeld"].includes(r.outcome), JSON.stringify(r));
    assert.ok(["notNeeded", "advised", "required"].includes(b.authority.renewalAdvice(T0)));
  }
  void base;
});

test("issue(): bad requests reject with a code", async () => {
  const { authority } = fixture();
  for (const v of [...NON_OBJECTS, ...NOT_PLAIN]) {
    await rejectsCode(() => authority.issue(v), { code: "invalid_input", ctor: TypeError });
  }
  await rejectsCode(() => authority.issue(), { code: "invalid_input", ctor: TypeError });
  await rejectsCode(() => authority.issue({}), { code: "invalid_input" });
  for (const v of NON_STRINGS.filter((x) => x !== undefined)) {
    await rejectsCode(() => authority.issue({ subject: v }), { code: "invalid_input", ctor: TypeError });
  }
  await rejectsCode(() => authority.issue({ subject: HUGE }), { code: "invalid_input", ctor: RangeError });
  for (const s of LONE) await rejectsCode(() => authority.issue({ subject: s }), { code: "invalid_input", ctor: TypeError });
  for (const s of ["", "a\u0000b", "line\nbreak", "x".repeat(257), "é".repeat(200)]) {
    await rejectsCode(() => authority.issue({ subject: s }), { code: "invalid_input" });
  }
  for (const key of ["Subject", "claim", "family", "familyID", "client_info", "clientInfo", "subject "]) {
    const e = await rejectsCode(() => authority.issue({ subject: "u", [key]: {} }), { code: "invalid_input", ctor: TypeError });
    assert.ok(e.message.includes(key), e.message);
  }
});

test("issue(): bad claims — wrong types, lone surrogates, registered names, oversize", async () => {
  const { authority } = fixture();
  for (const v of [null, 0, "claims", true, [], ["a"], () => ({}), Symbol("c"), 10n, new Date(), HUGE]) {
    await rejectsCode(() => authority.issue({ subject: "u", claims: v }), { code: "invalid_input", ctor: TypeError });
  }
  for (const s of LONE) {
    await rejectsCode(() => authority.issue({ subject: "u", claims: { k: s } }), { code: "invalid_input", ctor: TypeError });
    await rejectsCode(() => authority.issue({ subject: "u", claims: { [s]: 1 } }), { code: "invalid_input", ctor: TypeError });
    await rejectsCode(() => authority.issue({ subject: "u", claims: { deep: { list: [1, { s }] } } }), { code: "invalid_input", ctor: TypeError });
  }
  for (const name of ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "cnf"]) {
    const e = await rejectsCode(() => authority.issue({ subject: "u", claims: { [name]: "x" } }), { code: "invalid_input" });
    assert.match(e.message, /registered/);
  }
  // RFC 9068's scope and client_id are the application's to set, with their types checked.
  for (const claims of [{ scope: 1 }, { scope: "a  b" }, { scope: "" }, { client_id: 7 }, { client_id: "" }, { client_id: "a\u0000" }]) {
    await rejectsCode(() => authority.issue({ subject: "u", claims }), { code: "invalid_input" });
  }
  await authority.issue({ subject: "u", claims: { scope: "read write", client_id: "cli" } });
  const cyclic = {};
  cyclic.self = cyclic;
  await rejectsCode(() => authority.issue({ subject: "u", claims: cyclic }), { code: "invalid_input", ctor: TypeError });
  await rejectsCode(() => authority.issue({ subject: "u", claims: { n: 10n } }), { code: "invalid_input", ctor: TypeError });
  await rejectsCode(
    () =>
      authority.issue({
        subject: "u",
        claims: {
          toJSON() {
            throw new Error("no");
          },
        },
      }),
    { code: "invalid_input", ctor: TypeError },
  );
  await rejectsCode(() => authority.issue({ subject: "u", claims: { big: HUGE } }), { code: "invalid_input", ctor: RangeError });
  await rejectsCode(() => authority.issue({ subject: "u", claims: { big: "x".repeat(4100) } }), { code: "invalid_input" });
  // Non-ASCII claim names and values that are well-formed are fine.
  const s = await authority.issue({ subject: "u", claims: { "ключ": "значение 🔐", n: 1.5, ok: true, nil: null, list: [1, "a"] } });
  assert.equal(typeof s.accessToken, "string");
});

test(
  "issue(): claims that are not plain objects (Map, Set, class instances with hidden state) are refused",
  async () => {
    const { authority } = fixture();
    for (const v of [new Map([["role", "admin"]]), new Set(["admin"])]) {
      await rejectsCode(() => authority.issue({ subject: "u", claims: v }), { code: "invalid_input", ctor: TypeError });
    }
  },
);

test("issue(): bad client metadata and familyId", async () => {
  const { authority } = fixture();
  for (const v of [null, 0, "ua", true, [], () => ({}), Symbol("c")]) {
    await rejectsCode(() => authority.issue({ subject: "u", client: v }), { code: "invalid_input", ctor: TypeError });
  }
  for (const key of ["user_agent", "ua", "IP", "device", "userAgentString"]) {
    await rejectsCode(() => authority.issue({ subject: "u", client: { [key]: "x" } }), { code: "invalid_input", ctor: TypeError });
  }
  for (const field of ["userAgent", "ip", "deviceId"]) {
    for (const v of [null, 1, true, {}, []]) {
      await rejectsCode(() => authority.issue({ subject: "u", client: { [field]: v } }), { code: "invalid_input", ctor: TypeError });
    }
    await rejectsCode(() => authority.issue({ subject: "u", client: { [field]: HUGE } }), { code: "invalid_input", ctor: RangeError });
    for (const s of LONE) await rejectsCode(() => authority.issue({ subject: "u", client: { [field]: s } }), { code: "invalid_input", ctor: TypeError });
  }
  for (const v of [null, 1, {}, [], true]) {
    await rejectsCode(() => authority.issue({ subject: "u", familyId: v }), { code: "invalid_input", ctor: TypeError });
  }
  for (const v of ["", "nope", "00000000-0000-4000-8000-00000000000", "00000000-0000-4000-8000-00000000000G", "00000000-0000-4000-8000-000000000000 ", HUGE, ...LONE]) {
    await rejectsCode(() => authority.issue({ subject: "u", familyId: v }), { code: "invalid_input" });
  }
});

test("renew(): non-strings reject; malformed strings resolve to rejected/malformed; no token echoed", async () => {
  const { authority } = fixture();
  const s = await authority.issue({ subject: "renewer" });
  for (const v of NON_STRINGS) {
    await rejectsCode(() => authority.renew(v), { code: "invalid_input", ctor: TypeError });
  }
  await rejectsCode(() => authority.renew(), { code: "invalid_input", ctor: TypeError });
  await rejectsCode(() => authority.renew(HUGE), { code: "invalid_input", ctor: RangeError });
  await rejectsCode(() => authority.renew(s.refreshToken + HUGE), { code: "invalid_input", ctor: RangeError, secrets: [s.refreshToken] });
  for (const l of LONE) {
    const withSurrogate = s.refreshToken.slice(0, -1) + l;
    await rejectsCode(() => authority.renew(withSurrogate), { code: "invalid_input", ctor: TypeError, secrets: [s.refreshToken, s.refreshToken.slice(0, -1)] });
    await rejectsCode(() => authority.renew(l + s.refreshToken), { code: "invalid_input", secrets: [s.refreshToken] });
  }
  for (const v of ["", " ", "wgrt1", "null", "a".repeat(64 * 1024), s.accessToken, s.refreshToken.replace("wgrt1", "wgrt2"), s.refreshToken + "="]) {
    assert.deepEqual(await authority.renew(v), { outcome: "rejected", reason: "malformed" });
  }
  await mustRenew(authority, s.refreshToken);
});

test("revoke(): bad targets reject with a code", async () => {
  const { authority } = fixture();
  const s = await authority.issue({ subject: "revoker" });
  for (const v of [...NON_OBJECTS, ...NOT_PLAIN]) {
    await rejectsCode(() => authority.revoke(v), { code: "invalid_input", ctor: TypeError });
  }
  await rejectsCode(() => authority.revoke(), { code: "invalid_input", ctor: TypeError });
  for (const target of [
    {},
    { sessionId: undefined },
    { sessionId: s.sessionId, familyId: s.familyId },
    { familyId: s.familyId, subject: "revoker" },
    { sessionId: s.sessionId, familyId: s.familyId, subject: "revoker" },
    { session_id: s.sessionId },
    { sid: s.sessionId },
    { family: s.familyId },
    { user: "revoker" },
  ]) {
    await rejectsCode(() => authority.revoke(target), { code: "invalid_input", ctor: TypeError });
  }
  for (const field of ["sessionId", "familyId", "subject"]) {
    for (const v of [null, 1, true, {}, [], () => "x", 10n]) {
      await rejectsCode(() => authority.revoke({ [field]: v }), { code: "invalid_input", ctor: TypeError });
    }
    await rejectsCode(() => authority.revoke({ [field]: HUGE }), { code: "invalid_input", ctor: RangeError });
    for (const l of LONE) await rejectsCode(() => authority.revoke({ [field]: l }), { code: "invalid_input", ctor: TypeError });
    await rejectsCode(() => authority.revoke({ [field]: "" }), { code: "invalid_input" });
  }
  for (const id of ["x", s.sessionId.toUpperCase(), `{${s.sessionId}}`, s.sessionId.replaceAll("-", "")]) {
    await rejectsCode(() => authority.revoke({ sessionId: id }), { code: "invalid_input" });
    await rejectsCode(() => authority.revoke({ familyId: id }), { code: "invalid_input" });
  }
  // Nothing was revoked by any of that.
  await mustRenew(authority, s.refreshToken);
});

test("listSessions(): bad subjects reject with a code", async () => {
  const { authority } = fixture();
  for (const v of NON_STRINGS) {
    await rejectsCode(() => authority.listSessions(v), { code: "invalid_input", ctor: TypeError });
  }
  await rejectsCode(() => authority.listSessions(), { code: "invalid_input", ctor: TypeError });
  await rejectsCode(() => authority.listSessions(HUGE), { code: "invalid_input", ctor: RangeError });
  for (const l of LONE) await rejectsCode(() => authority.listSessions(l), { code: "invalid_input", ctor: TypeError });
  for (const s of ["", "a\u0000", "x".repeat(257)]) await rejectsCode(() => authority.listSessions(s), { code: "invalid_input" });
});

test("jwks() / activeKid() ignore arguments; addSigningKey / addVerifyKey refuse bad JWKs", () => {
  const { authority, key } = fixture();
  assert.deepEqual(authority.jwks(42, null), authority.jwks());
  assert.equal(authority.activeKid({}), key.kid);
  const fresh = generateSigningKey();
  const { d: _d, ...pub } = fresh;
  for (const [add, jwkBase] of [
    [authority.addSigningKey.bind(authority), fresh],
    [authority.addVerifyKey.bind(authority), pub],
  ]) {
    for (const v of [...NON_OBJECTS, ...NOT_PLAIN]) {
      throwsCode(() => add(v), { code: "invalid_input", ctor: [TypeError, RangeError] });
    }
    throwsCode(() => add(), { code: "invalid_input", ctor: TypeError });
    for (const [jwk, code] of [
      [{}, "invalid_input"],
      [{ kty: "OKP" }, "key_unsupported_crv"],
      [{ ...jwkBase, kty: "EC" }, "key_unsupported_kty"],
      [{ ...jwkBase, crv: "X25519" }, "key_unsupported_crv"],
      [{ ...jwkBase, alg: "RS256" }, "key_unsupported_alg"],
      [{ ...jwkBase, x: "AAAA" }, "key_invalid_encoding"],
      [{ ...jwkBase, x: jwkBase.x + "=" }, "key_invalid_encoding"],
      [{ ...jwkBase, d: "AAAA" }, "key_invalid_encoding"],
      [{ ...jwkBase, x: 42 }, "invalid_input"],
      [{ ...jwkBase, kid: "" }, "key_invalid_kid"],
      [{ ...jwkBase, kid: "a\nb" }, "key_invalid_kid"],
      [{ ...jwkBase, kid: "k".repeat(1000) }, "key_invalid_kid"],
      [{ ...jwkBase, kid: 7 }, "invalid_input"],
      [{ ...jwkBase, x: LONE[0] }, "invalid_input"],
      [{ ...jwkBase, kid: LONE[0] }, "invalid_input"],
      [{ ...jwkBase, big: HUGE }, "invalid_input"],
    ]) {
      // A private JWK with a broken public half may be reported as a mismatch.
      const also = jwkBase === fresh ? ["key_mismatch"] : ["key_private_not_allowed"];
      throwsCode(() => add(jwk), { code: [code, "key_malformed_jwk", "invalid_input", ...also], ctor: ERROR_CTORS });
    }
  }
  throwsCode(() => authority.addSigningKey(pub), { code: "key_missing_private" });
  throwsCode(() => authority.addSigningKey({ ...fresh, x: generateSigningKey().x }), { code: "key_mismatch" });
  throwsCode(() => authority.addVerifyKey(fresh), { code: "key_private_not_allowed" });
  const weak = { kty: "OKP", crv: "Ed25519", x: Buffer.concat([Buffer.from([1]), Buffer.alloc(31)]).toString("base64url") };
  throwsCode(() => authority.addVerifyKey(weak), { code: "key_weak" });
  throwsCode(() => authority.addVerifyKey({ ...weak, kid: "weak" }), { code: "key_weak" });
  // None of that changed the key set.
  assert.deepEqual(authority.jwks().keys.map((k) => k.kid), [key.kid]);
});

test("activateKey / retireKey / renewalAdvice refuse bad arguments", () => {
  const { authority, key } = fixture();
  for (const f of [authority.activateKey.bind(authority), authority.retireKey.bind(authority)]) {
    for (const v of NON_STRINGS) throwsCode(() => f(v), { code: "invalid_input", ctor: TypeError });
    throwsCode(() => f(), { code: "invalid_input", ctor: TypeError });
    throwsCode(() => f(HUGE), { code: "invalid_input", ctor: RangeError });
    for (const l of LONE) throwsCode(() => f(l), { code: "invalid_input", ctor: TypeError });
    throwsCode(() => f(""), { code: ["key_unknown_kid", "key_invalid_kid", "invalid_input"] });
    throwsCode(() => f(key.kid + "x"), { code: "key_unknown_kid" });
  }
  for (const v of [...BAD_NUMBERS, 8.64e15 + 1, 1e20]) {
    throwsCode(() => authority.renewalAdvice(v), { code: "invalid_input", ctor: RangeError });
  }
  for (const v of [...NON_NUMBERS, undefined]) {
    throwsCode(() => authority.renewalAdvice(v), { code: "invalid_input", ctor: TypeError });
  }
  throwsCode(() => authority.renewalAdvice(), { code: "invalid_input", ctor: TypeError });
  assert.equal(authority.activeKid(), key.kid);
});

test("new Verifier: bad options, jwks, leeway, maxTokenBytes, unknown keys", () => {
  const { authority } = fixture();
  const base = { issuer: ISSUER, audience: AUDIENCE, jwks: authority.jwks() };
  for (const v of [...NON_OBJECTS, ...NOT_PLAIN]) throwsCode(() => new Verifier(v), { code: "invalid_input", ctor: TypeError });
  throwsCode(() => new Verifier(), { code: "invalid_input", ctor: TypeError });
  for (const field of ["issuer", "audience", "jwks"]) {
    const { [field]: _drop, ...missing } = base;
    throwsCode(() => new Verifier(missing), { code: "invalid_input", ctor: TypeError });
  }
  for (const field of ["issuer", "audience"]) {
    // An audience may also be an array of strings (checked below).
    const wrong = NON_STRINGS.filter((x) => x !== undefined && !(field === "audience" && Array.isArray(x)));
    for (const v of wrong) throwsCode(() => new Verifier({ ...base, [field]: v }), { code: "invalid_input", ctor: TypeError });
    throwsCode(() => new Verifier({ ...base, [field]: HUGE }), { code: "invalid_input", ctor: RangeError });
    for (const l of LONE) throwsCode(() => new Verifier({ ...base, [field]: l }), { code: "invalid_input", ctor: TypeError });
    throwsCode(() => new Verifier({ ...base, [field]: "" }), { code: "config_invalid" });
  }
  throwsCode(() => new Verifier({ ...base, audience: [] }), { code: "config_invalid" });
  throwsCode(() => new Verifier({ ...base, audience: [""] }), { code: "config_invalid" });
  for (const v of [[1], [null], ["a", {}], [LONE[0]]]) throwsCode(() => new Verifier({ ...base, audience: v }), { code: "invalid_input", ctor: TypeError });
  const k = generateSigningKey();
  const { d: _d, ...pub } = k;
  for (const [jwks, code] of [
    [null, "invalid_input"],
    [42, "invalid_input"],
    ["jwks", "invalid_input"],
    [[], "invalid_input"],
    [[pub], "invalid_input"],
    [() => ({}), "invalid_input"],
    [{}, "invalid_input"],
    [{ keys: "x" }, "invalid_input"],
    [{ keys: [42] }, "invalid_input"],
    [{ keys: [{}] }, "invalid_input"],
    [{ keys: [k] }, "key_private_not_allowed"],
    [{ keys: [pub, pub] }, "key_duplicate_kid"],
    [{ keys: [{ ...pub, crv: "P-256" }] }, "key_unsupported_crv"],
    [{ keys: [{ ...pub, x: LONE[0] }] }, "invalid_input"],
    [{ keys: [{ ...pub, big: HUGE }] }, "invalid_input"],
  ]) {
    throwsCode(() => new Verifier({ ...base, jwks }), { code: [code, "key_malformed_jwk"], ctor: ERROR_CTORS });
  }
  for (const v of BAD_NUMBERS) throwsCode(() => new Verifier({ ...base, leeway: v }), { code: ["invalid_input", "config_invalid"], ctor: ERROR_CTORS });
  for (const v of NON_NUMBERS) throwsCode(() => new Verifier({ ...base, leeway: v }), { code: "invalid_input", ctor: TypeError });
  throwsCode(() => new Verifier({ ...base, leeway: 301 }), { code: "config_invalid" });
  for (const v of [NaN, Infinity, -1, 1.5, 10, 511, 1024 * 1024 + 1, 1e300]) {
    throwsCode(() => new Verifier({ ...base, maxTokenBytes: v }), { code: ["invalid_input", "config_invalid"], ctor: ERROR_CTORS });
  }
  for (const v of NON_NUMBERS) throwsCode(() => new Verifier({ ...base, maxTokenBytes: v }), { code: "invalid_input", ctor: TypeError });
  for (const key of ["leeWay", "maxTokenSize", "jwksUri", "issuers", "clockTolerance", "algorithms", "graceWindow", "signingKeys"]) {
    const e = throwsCode(() => new Verifier({ ...base, [key]: 1 }), { code: "invalid_input", ctor: TypeError });
    assert.ok(e.message.includes(key), e.message);
  }
  for (const v of [null, 0, "fn", {}]) throwsCode(() => new Verifier({ ...base, clock: v }), { code: "invalid_input", ctor: TypeError });
});

test("Verifier.verify(): bad tokens throw coded errors that never echo the token", async () => {
  const { authority, clock } = fixture();
  const s = await authority.issue({ subject: "verify" });
  const v = new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: authority.jwks(), clock: clock.now });
  for (const x of NON_STRINGS) throwsCode(() => v.verify(x), { code: "invalid_input", ctor: TypeError });
  throwsCode(() => v.verify(), { code: "invalid_input", ctor: TypeError });
  throwsCode(() => v.verify(HUGE), { code: "token_too_large" });
  throwsCode(() => v.verify(s.accessToken + HUGE), { code: "token_too_large", secrets: [s.accessToken] });
  throwsCode(() => v.verify(s.accessToken + "a".repeat(8192)), { code: "token_too_large", secrets: [s.accessToken] });
  for (const l of LONE) {
    throwsCode(() => v.verify(s.accessToken.slice(0, 40) + l + s.accessToken.slice(41)), { code: "invalid_input", ctor: TypeError, secrets: [s.accessToken.slice(0, 40), s.accessToken.slice(41)] });
  }
  const [h, p, sig] = s.accessToken.split(".");
  for (const t of ["", ".", "..", "a.b.c", `${h}.${p}`, `${h}.${p}.${sig}.x`, `${h}..${sig}`, `${h} .${p}.${sig}`, s.refreshToken, `${h}.${p}.${sig}=`]) {
    throwsCode(() => v.verify(t), { code: ["token_malformed", "token_bad_signature", "token_invalid_claims"], secrets: [s.accessToken, s.refreshToken] });
  }
  // The verifier still verifies.
  assert.equal(v.verify(s.accessToken).sub, "verify");
});

test("generateSigningKey ignores any arguments and always returns a usable key", () => {
  for (const args of [[], [undefined], [null], [42], ["Ed448"], [{ crv: "P-256" }], [HUGE], [Symbol("s"), 10n]]) {
    const k = generateSigningKey(...args);
    assert.equal(k.kty, "OKP");
    assert.equal(k.crv, "Ed25519");
    assert.equal(typeof k.d, "string");
  }
});

test("store adapters refuse handles that are not their runtime's, with a coded TypeError", () => {
  const wrong = [...NON_OBJECTS, ...NOT_PLAIN, { atomic: 1 }, { get() {}, put: 1 }, { getWithMetadata: "x" }, new MemoryStore()];
  for (const [name, make] of Object.entries({ denoKvStore, durableObjectStore, workersKvStore })) {
    for (const v of wrong) {
      let err;
      try {
        make(v);
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof TypeError, `${name}(${label(v)}) did not throw a TypeError`);
      assert.equal(err.code, "invalid_input", `${name}(${label(v)})`);
    }
  }
  const kv = { atomic() {}, get() {}, getMany() {}, list() {} };
  for (const prefix of ["webgates", null, 42, {}]) {
    throwsCode(() => denoKvStore(kv, { prefix }), { code: "invalid_input", ctor: TypeError });
  }
  assert.equal(typeof denoKvStore(kv).get, "function");
  assert.equal(typeof denoKvStore(kv, { prefix: ["app", "sessions"] }).list, "function");
});

test(
  "denoKvStore validates its options bag like the wasm exports do",
  () => {
    const kv = { atomic() {}, get() {}, getMany() {}, list() {} };
    throwsCode(() => denoKvStore(kv, null), { code: "invalid_input", ctor: TypeError });
    throwsCode(() => denoKvStore(kv, { prefx: ["a"] }), { code: "invalid_input", ctor: TypeError });
    throwsCode(() => denoKvStore(kv, { prefix: [{}] }), { code: "invalid_input", ctor: TypeError });
  },
);

test("MemoryStore: never throws synchronously, conservative on bad options, stays usable", async () => {
  const s = new MemoryStore();
  const calls = [
    () => s.get(),
    () => s.get(null),
    () => s.set("k", "v", null),
    () => s.set("k", "v", 42),
    () => s.set("k", "v", { expect: "ABSENT" }),
    () => s.set("k", "v", { expect: 42 }),
    () => s.set("k", "v", { expect: { version: 1 } }),
    () => s.set("k", "v", { expect: null }),
    () => s.list("", null),
    () => s.list(),
    () => s.delete(),
  ];
  for (const call of calls) {
    let p;
    assert.doesNotThrow(() => {
      p = call();
    });
    assert.ok(p instanceof Promise);
    await p.catch((e) => assert.ok(e instanceof TypeError));
  }
  await s.delete("k"); // set(k, v, 42) destructures 42 as "no options" and writes with expect "any"
  for (const expect of ["ABSENT", 42, null, { version: 1 }, { version: undefined }]) {
    assert.deepEqual(await s.set("k", "v", { expect }), { ok: false });
  }
  assert.equal(s.purgeExpired(NaN), 0);
  assert.equal(s.size, 0);
  const { authority, clock } = setup({ store: s });
  await roundTrip(authority, clock.now);
});

test(
  "MemoryStore refuses non-string keys and values with a coded TypeError",
  async () => {
    const s = new MemoryStore();
    for (const [k, v] of [[42, "v"], [null, "v"], ["k", 42], ["k", { a: 1 }]]) {
      const e = await s.set(k, v, { expect: "any" }).then(
        () => null,
        (err) => err,
      );
      assert.ok(e instanceof TypeError && typeof e.code === "string", `set(${label(k)}, ${label(v)}) accepted`);
    }
    assert.deepEqual(await s.list("", { limit: 10 }), { keys: [], cursor: null });
  },
);

test(
  "use after free() throws an Error with a code",
  async () => {
    const { authority } = fixture();
    authority.free();
    throwsCode(() => authority.jwks());
    await rejectsCode(() => authority.issue({ subject: "u" }));
  },
);

test(
  "hostile objects (Proxy traps, revoked Proxy, array index getters) give coded errors and never corrupt the module",
  async () => {
    const { base, authority } = fixture();
    const ownKeysThrows = new Proxy({}, { ownKeys: () => { throw new Error("trap"); } });
    const { proxy: revoked, revoke } = Proxy.revocable({}, {});
    revoke();
    const getterArray = [base.signingKeys[0]];
    Object.defineProperty(getterArray, 0, { get: () => { throw new Error("index getter"); } });
    for (let i = 0; i < 2000; i++) {
      throwsCode(() => new Authority(ownKeysThrows), { code: "invalid_input" });
      throwsCode(() => new Authority(revoked), { code: "invalid_input" });
      throwsCode(() => new Authority({ ...base, signingKeys: getterArray }), { code: "invalid_input" });
      await rejectsCode(() => authority.issue(revoked), { code: "invalid_input" });
      await rejectsCode(() => authority.issue({ subject: "u", claims: revoked }), { code: "invalid_input" });
    }
    await roundTrip(authority, base.clock);
    const inner = new MemoryStore();
    const badKeys = ["x"];
    Object.defineProperty(badKeys, 0, { get: () => { throw new Error("keys getter"); } });
    const store = { get: (k) => inner.get(k), set: (k, v, o) => inner.set(k, v, o), delete: (k) => inner.delete(k), list: async () => ({ keys: badKeys }) };
    const b = new Authority({ ...base, store });
    await rejectsCode(() => b.listSessions("u"), { code: "store_failed" });
  },
);

test("after the whole barrage the instances still issue, renew and verify", async () => {
  const { authority, clock, base } = fixture();
  const verifier = new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: authority.jwks(), clock: clock.now });
  // A compact barrage on these very instances, then a full round trip.
  for (const v of [...NON_OBJECTS, ...NOT_PLAIN]) {
    await rejectsCode(() => authority.issue(v), {});
    await rejectsCode(() => authority.revoke(v), {});
    if (typeof v !== "string") {
      await rejectsCode(() => authority.renew(v), {});
      await rejectsCode(() => authority.listSessions(v), {});
      throwsCode(() => verifier.verify(v), {});
      throwsCode(() => authority.activateKey(v), {});
    }
    throwsCode(() => authority.addSigningKey(v), {});
  }
  for (let i = 0; i < 200; i++) {
    await rejectsCode(() => authority.renew(HUGE), { code: "invalid_input" });
    throwsCode(() => verifier.verify(HUGE), { code: "token_too_large" });
    throwsCode(() => new Authority({ ...base, accessTokenTTL: 1 }), { code: "invalid_input" });
  }
  await roundTrip(authority, clock.now);
  const s = await authority.issue({ subject: "final", claims: { ok: true } });
  assert.equal(verifier.verify(s.accessToken).ok, true);
  const r = await mustRenew(authority, s.refreshToken);
  assert.equal(verifier.verify(r.accessToken).sid, s.sessionId);
});

test("fractional accessTokenTtl or leeway is refused: tokens count whole seconds, so exp - iat would differ", async () => {
  const { base, clock } = fixture();
  for (const [field, v] of [["accessTokenTtl", 300.5], ["accessTokenTtl", 0.4], ["accessTokenTtl", 59.999], ["leeway", 30.5], ["leeway", 0.1]]) {
    const e = throwsCode(() => new Authority({ ...base, [field]: v }), { code: "invalid_input", ctor: RangeError });
    assert.ok(e.message.includes(field) && e.message.includes("whole number of seconds"), e.message);
  }
  const jwks = new Authority(base).jwks();
  throwsCode(() => new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks, leeway: 1.5 }), { code: "invalid_input", ctor: RangeError });
  // Whole seconds, and durations kept in milliseconds (grace, lease, idle/absolute TTLs, renewal
  // window), may still be fractional; exp - iat is then exactly the TTL.
  const a = new Authority({ ...base, accessTokenTtl: 301, graceWindow: 0.5, leaseTtl: 2.5, renewalWindow: 30.25 });
  clock.advance(777); // a clock reading that is not a whole second
  const s = await a.issue({ subject: "whole" });
  const { exp, iat } = JSON.parse(Buffer.from(s.accessToken.split(".")[1], "base64url"));
  assert.equal(exp - iat, 301);
});

test("renewalAdvice refuses a time in seconds (a JWT's exp) where it is plainly not milliseconds", () => {
  const clock = manualClock(T0);
  const { authority } = setup({ clockObj: clock });
  const expSeconds = Math.floor((T0 + 300 * SEC) / 1000);
  const e = throwsCode(() => authority.renewalAdvice(expSeconds), { code: "invalid_input", ctor: RangeError });
  assert.match(e.message, /milliseconds/);
  throwsCode(() => authority.renewalAdvice(Math.floor(T0 / 1000) - 3600), { code: "invalid_input", ctor: RangeError });
  assert.equal(authority.renewalAdvice(T0 + 300 * SEC), "notNeeded");
  assert.equal(authority.renewalAdvice(T0 + 30 * SEC), "advised");
  assert.equal(authority.renewalAdvice(T0 - 1), "required");
  assert.equal(authority.renewalAdvice(0), "required", "a genuine (ancient) millisecond time is not mistaken");
  // A test clock near zero: small values are milliseconds, never refused.
  const early = manualClock(5_000);
  const { authority: a2 } = setup({ clockObj: early });
  assert.equal(a2.renewalAdvice(5), "required");
  assert.equal(a2.renewalAdvice(5_000 + 300 * SEC), "notNeeded");
});

test("every invalid_input is a TypeError or RangeError and every config_invalid a RangeError, from the core too", async () => {
  const { authority, base } = fixture();
  // Found by the core (content), not by the bindings: TypeError.
  await rejectsCode(() => authority.issue({ subject: "bad\u0007subject" }), { code: "invalid_input", ctor: TypeError });
  await rejectsCode(() => authority.issue({ subject: "u", claims: { iss: "x" } }), { code: "invalid_input", ctor: TypeError });
  await rejectsCode(() => authority.issue({ subject: "u", client: { ip: "1.2.3.4\n" } }), { code: "invalid_input", ctor: TypeError });
  await rejectsCode(() => authority.issue({ subject: "u", familyId: "not-a-uuid" }), { code: "invalid_input", ctor: TypeError });
  // Lengths in UTF-8 bytes (UTF-16 units under the bound, bytes over it): RangeError.
  await rejectsCode(() => authority.issue({ subject: "é".repeat(129) }), { code: "invalid_input", ctor: RangeError });
  await rejectsCode(() => authority.issue({ subject: "" }), { code: "invalid_input", ctor: RangeError });
  await rejectsCode(() => authority.issue({ subject: "u", client: { userAgent: "é".repeat(300) } }), { code: "invalid_input", ctor: RangeError });
  await rejectsCode(() => authority.issue({ subject: "u", claims: { t: "é".repeat(2100) } }), { code: "invalid_input", ctor: RangeError });
  throwsCode(() => new Authority({ ...base, signingKeys: Array(65).fill(base.signingKeys[0]) }), { code: "config_invalid", ctor: RangeError });
  // Still usable.
  assert.equal((await authority.issue({ subject: "é".repeat(128) })).subject, "é".repeat(128));
});
