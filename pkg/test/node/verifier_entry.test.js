// `webgates-sessions/verifier`: the verifier-only wasm module gives exactly the main module's
// verdicts, claims and error codes, and exports nothing that signs.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import test from "node:test";
import { fileURLToPath } from "node:url";
import { Verifier as FullVerifier } from "../../dist/node.js";
import * as small from "../../dist/verifier/node.js"; // the shipped, bundled entry
import { AUDIENCE, ISSUER, SEC, flipChar as flip, mulberry32, setup, throwsCode } from "./support.js";

const SmallVerifier = small.Verifier;

/** Runs `fn`, returning its result or the error's constructor name and code. */
function outcome(fn) {
  try {
    return { ok: fn() };
  } catch (e) {
    return { error: e?.constructor?.name, code: e?.code, trap: e instanceof WebAssembly.RuntimeError };
  }
}

test("the entry point exports Verifier and the error recovery only", () => {
  assert.deepEqual(Object.keys(small).sort(), ["Verifier", "WebgatesError", "createRemoteVerifier", "isWebgatesError"]);
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  assert.equal(pkg.exports["./verifier"].node, "./dist/verifier/node.js");
  assert.ok(pkg.files.includes("dist/verifier/node.js"));
  assert.ok(pkg.files.includes("wasm/webgates_sessions_verifier_bg.wasm"));
});

test("the shipped Node entries are one ES module each, importing only node:module", () => {
  // Each extra module costs a cold start about 0.6 ms; build.mjs bundles the entries with esbuild.
  // `node:fs` comes through createRequire: a static import of it costs about 2 ms.
  for (const entry of ["../../dist/node.js", "../../dist/verifier/node.js"]) {
    const text = readFileSync(new URL(entry, import.meta.url), "utf8");
    const imports = [...text.matchAll(/^\s*import\b[^"']*["']([^"']+)["']/gm)].map((m) => m[1]);
    assert.deepEqual(imports, ["node:module"], entry);
    assert.doesNotMatch(text, /\bimport\s*\(/, `${entry}: no dynamic import`);
  }
});

// require(esm) is on by default from Node 20.19 and 22.12; older Node cannot require() any ES module.
const requireEsm = { skip: process.features.require_module ? false : "this Node cannot require() ES modules" };

test("CommonJS code can require() both Node entries (no top-level await)", requireEsm, () => {
  const path = (entry) => fileURLToPath(new URL(entry, import.meta.url));
  const script = `
    const main = require(${JSON.stringify(path("../../dist/node.js"))});
    const { Verifier } = require(${JSON.stringify(path("../../dist/verifier/node.js"))});
    const authority = new main.Authority({ issuer: "https://a.example", audience: "api",
      signingKeys: [main.generateSigningKey()], store: new main.MemoryStore() });
    authority.issue({ subject: "u1" }).then(({ accessToken }) => {
      const verifier = new Verifier({ issuer: "https://a.example", audience: "api", jwks: authority.jwks() });
      process.stdout.write(verifier.verify(accessToken).sub);
    });`;
  const out = execFileSync(process.execPath, ["--no-warnings", "-e", script], { encoding: "utf8" });
  assert.equal(out, "u1");
});

test("the verifier-only module is less than 60 % of the full module", () => {
  const size = (name) => readFileSync(new URL(`../../wasm/${name}_bg.wasm`, import.meta.url)).length;
  const ratio = size("webgates_sessions_verifier") / size("webgates_sessions_wasm");
  assert.ok(ratio < 0.6, `verifier module is ${(ratio * 100).toFixed(0)} % of the full module`);
});

test("same claims and same refusals as the main entry point, token for token", async () => {
  const { authority, clock } = setup();
  const options = { issuer: ISSUER, audience: AUDIENCE, jwks: authority.jwks(), clock: clock.now };
  const full = new FullVerifier(options);
  const verifier = new SmallVerifier(options);
  const rand = mulberry32(7);
  const tokens = [];
  for (let i = 0; i < 12; i++) {
    const claims = { n: rand(), tier: i % 2 ? "gold" : "free", nested: { list: [i, -i, 1.5e300, 2 ** 60 + i * 2 ** 10] } };
    tokens.push((await authority.issue({ subject: `user-${i}`, claims })).accessToken);
  }
  const good = tokens[0];
  const [h, p, s] = good.split(".");
  const bad = [
    "",
    "a.b.c",
    good + ".",
    `${h}.${p}.${flip(s, 10)}`,
    `${h}.${flip(p, 5)}.${s}`,
    `${flip(h, 3)}.${p}.${s}`,
    `${h}.${p}`,
    "x".repeat(9000),
    42,
    null,
    undefined,
    { toString: () => good },
    new String(good),
  ];
  for (let i = 0; i < good.length; i += 7) bad.push(flip(good, i));
  for (const [i, token] of tokens.entries()) {
    assert.deepEqual(verifier.verify(token).nested.list, [i, 0 - i, 1.5e300, 2 ** 60 + i * 2 ** 10], "claims verify"); // JSON has no -0
  }
  for (const token of [...tokens, ...bad]) {
    const a = outcome(() => full.verify(token));
    const b = outcome(() => verifier.verify(token));
    assert.deepEqual(b, a, `token ${String(token).slice(0, 40)}`);
    assert.ok(!b.trap);
  }
  // Expired and not-yet-valid, by the injected clock.
  clock.advance(3600 * SEC);
  assert.deepEqual(outcome(() => verifier.verify(good)), outcome(() => full.verify(good)));
  assert.equal(outcome(() => verifier.verify(good)).code, "token_expired");
  // A verifier trusting other keys refuses with token_unknown_kid.
  const other = new SmallVerifier({ ...options, jwks: setup().authority.jwks() });
  throwsCode(() => other.verify(tokens[1]), { code: "token_unknown_kid" });
});

test("bad options give the same coded errors; use after free is instance_freed", () => {
  const { authority } = setup();
  const jwks = authority.jwks();
  for (const [i, options] of [
    undefined,
    null,
    42,
    {},
    { issuer: ISSUER, audience: AUDIENCE },
    { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [] } },
    { issuer: ISSUER, audience: AUDIENCE, jwks, leeway: -1 },
    { issuer: ISSUER, audience: AUDIENCE, jwks, extra: true },
    { issuer: ISSUER, audience: AUDIENCE, jwks: { keys: [{ ...jwks.keys[0], x: "AAAA" }] } },
    new Proxy({}, { get: () => { throw new Error("trap"); } }),
  ].entries()) {
    const a = outcome(() => new FullVerifier(options));
    const b = outcome(() => new SmallVerifier(options));
    assert.deepEqual(b, a, `options #${i}`);
    assert.ok(b.code, "refused with a code");
  }
  const v = new SmallVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks });
  v.free();
  v.free();
  throwsCode(() => v.verify("x.y.z"), { code: "instance_freed" });
});

test("jwks may be given as its JSON text, with the same verdicts as the object", async () => {
  const { authority, clock } = setup();
  const jwks = authority.jwks();
  const s = await authority.issue({ subject: "text-jwks" });
  for (const V of [FullVerifier, SmallVerifier]) {
    const fromText = new V({ issuer: ISSUER, audience: AUDIENCE, jwks: JSON.stringify(jwks), clock: clock.now });
    const fromObject = new V({ issuer: ISSUER, audience: AUDIENCE, jwks, clock: clock.now });
    assert.deepEqual(fromText.verify(s.accessToken), fromObject.verify(s.accessToken));
    for (const bad of ["", "{", "[]", "null", '{"keys":5}', '{"keys":[{"kty":"RSA"}]}', JSON.stringify(jwks) + "x", "\ud800"]) {
      const e = outcome(() => new V({ issuer: ISSUER, audience: AUDIENCE, jwks: bad }));
      assert.ok(e.code && !e.trap, `${V.name} ${bad.slice(0, 20)}: ${JSON.stringify(e)}`);
    }
    const huge = JSON.stringify({ keys: [{ ...jwks.keys[0], pad: "x".repeat(300_000) }] });
    assert.equal(outcome(() => new V({ issuer: ISSUER, audience: AUDIENCE, jwks: huge })).error, "RangeError");
  }
});
