// Error codes that survive a structured clone: every error of this package starts its message
// with its code, and WebgatesError.from / isWebgatesError (exported by every entry point) read it
// back once `code` itself was dropped. Workers RPC is tested in test/workerd/rpc-errors.test.js.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import test from "node:test";
import { Authority, MemoryStore, Verifier, WebgatesError, generateSigningKey, isWebgatesError } from "../../dist/node.js";
import * as small from "../../dist/verifier/node.js";
import * as conformance from "../../src/conformance/node.js";
import { rejectsCode, throwsCode } from "./support.js";

const key = generateSigningKey();
const base = { issuer: "https://a.example", audience: "api", signingKeys: [key], store: new MemoryStore() };

/** One error per kind of origin: the wasm module (sync and async), and JS (a store, a freed instance). */
async function samples() {
  const out = [];
  const grab = (fn) => {
    try {
      fn();
    } catch (e) {
      out.push(e);
    }
  };
  grab(() => new Authority({ ...base, accessTokenTtl: 300.5 })); // RangeError invalid_input
  grab(() => new Authority({ ...base, graceWindow: 600, refreshIdleTtl: 60 })); // RangeError config_invalid
  grab(() => new Authority({ ...base, nope: 1 })); // TypeError invalid_input
  grab(() => new Verifier({ issuer: "i", audience: "a", jwks: new Authority(base).jwks() }).verify("x.y.z")); // token_*
  const a = new Authority({ ...base, store: { get: () => Promise.reject(new Error("down")), set() {}, delete() {}, list() {} } });
  await a.renew("wgrt1.00000000-0000-4000-8000-000000000000.AAAA").catch(() => {});
  await a.issue({ subject: "u" }).catch((e) => out.push(e)); // store_unavailable
  grab(() => new MemoryStore()[Symbol.for("webgates-sessions.syncStore")].get(1)); // JS: MemoryStore invalid_input
  const freed = new Authority(base);
  freed.free();
  grab(() => freed.jwks()); // instance_freed
  return out;
}

test("every error of this package carries its code as the first word of its message", async () => {
  const errors = await samples();
  assert.ok(errors.length >= 7, `${errors.length} samples`);
  const codes = new Set();
  for (const e of errors) {
    assert.equal(typeof e.code, "string", e.message);
    assert.ok(e.message.startsWith(`${e.code}: `), e.message);
    codes.add(e.code);
  }
  for (const c of ["invalid_input", "config_invalid", "store_unavailable", "instance_freed"]) assert.ok(codes.has(c), c);
  assert.ok([...codes].some((c) => c.startsWith("token_")));
});

test("structuredClone drops code; WebgatesError.from and isWebgatesError restore it, keeping the type", async () => {
  for (const e of await samples()) {
    const clone = structuredClone(e);
    assert.equal(clone.code, undefined, "structuredClone is expected to drop custom properties");
    assert.equal(clone.constructor, e.constructor);
    assert.equal(clone.message, e.message);
    const restored = WebgatesError.from(clone);
    assert.equal(restored, clone, "restored in place");
    assert.equal(restored.code, e.code);
    const again = structuredClone(e);
    assert.equal(isWebgatesError(again), true);
    assert.equal(again.code, e.code, "isWebgatesError restores the code too");
  }
});

test("WebgatesError.from refuses errors that are not ours, and copies a frozen clone", () => {
  for (const v of [undefined, null, "invalid_input: text", { message: "invalid_input: x" }, new Error("boom"), new Error("not_a_code: x"), Object.assign(new Error("invalid_input: x"), { code: "ECONNRESET" })]) {
    assert.equal(WebgatesError.from(v), null, String(v?.message ?? v));
    assert.equal(isWebgatesError(v), false);
  }
  const frozen = Object.freeze(new RangeError("config_invalid: leaseTtl: must be 100 ms to 5 min"));
  const copy = WebgatesError.from(frozen);
  assert.notEqual(copy, frozen);
  assert.ok(copy instanceof RangeError);
  assert.equal(copy.code, "config_invalid");
  assert.equal(copy.message, frozen.message);
  assert.equal(isWebgatesError(frozen), false, "a frozen clone cannot carry its code: use from()");
});

test("WebgatesError.codes is index.d.ts's ErrorCode, in order", () => {
  const dts = readFileSync(new URL("../../index.d.ts", import.meta.url), "utf8");
  const union = /export type ErrorCode =([^;]+);/.exec(dts)[1];
  const declared = [...union.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
  assert.deepEqual([...WebgatesError.codes], declared);
  assert.ok(Object.isFrozen(WebgatesError) && Object.isFrozen(WebgatesError.codes));
});

test("every entry point exports the same recovery", async () => {
  // (The Node entries are bundled separately, so each has its own copy: equal, not identical.)
  for (const entry of [small, conformance]) {
    assert.deepEqual(entry.WebgatesError.codes, WebgatesError.codes);
    assert.equal(typeof entry.WebgatesError.from, "function");
    assert.equal(entry.isWebgatesError(structuredClone(throwsCode(() => new Authority({}), {}))), true);
  }
  assert.deepEqual(Object.keys(small).sort(), ["Verifier", "WebgatesError", "createRemoteVerifier", "isWebgatesError"]);
  assert.deepEqual(Object.keys(conformance).sort(), ["WebgatesError", "isWebgatesError", "runStoreConformance", "storeConformanceCases"]);
  // The verifier-only module's errors are recovered the same way.
  const v = new small.Verifier({ issuer: "i", audience: "a", jwks: new Authority(base).jwks() });
  const e = structuredClone(throwsCode(() => v.verify("x"), { code: "token_malformed" }));
  assert.equal(small.WebgatesError.from(e)?.code, "token_malformed");
  await rejectsCode(() => new Authority(base).renew(42), { code: "invalid_input", ctor: TypeError });
});

test("ErrorCode is every code the core's Error::code() can answer, plus instance_freed", () => {
  // The core's codes, from the `code()` arms of src/errors.rs: every `=> "code"` inside a
  // `fn code` body (the messages, in `fn message`, have spaces and are not matched there).
  const rust = readFileSync(new URL("../../../src/errors.rs", import.meta.url), "utf8");
  const bodies = [...rust.matchAll(/fn code\((?:&)?self\) -> &'static str \{([\s\S]*?)\n {4}\}/g)].map((m) => m[1]);
  assert.ok(bodies.length >= 3, `found ${bodies.length} code() bodies`);
  const core = new Set(bodies.flatMap((b) => [...b.matchAll(/=> "([a-z][a-z0-9_]*)"/g)].map((m) => m[1])));
  assert.ok(core.has("token_expired") && core.has("store_unavailable"), [...core].join(","));
  // `instance_freed` is the JS classes' own (use after free()); every other code comes from the core.
  const js = new Set(WebgatesError.codes);
  js.delete("instance_freed");
  assert.deepEqual([...js].filter((c) => !core.has(c)), [], "codes in ErrorCode the core never answers");
  assert.deepEqual([...core].filter((c) => !js.has(c)), [], "core codes missing from ErrorCode");
});
