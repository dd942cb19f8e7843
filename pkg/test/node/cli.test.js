// The webgates-sessions command line (bin/webgates-sessions.mjs), spawned as a user runs it:
// keygen, jwks of a key file, inspect of a token (decoded, labelled UNVERIFIED), usage errors.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";
import { Verifier, jwks, publicJwk } from "../../dist/node.js";
import { AUDIENCE, ISSUER, decodeJws, setup, throwsCode } from "./support.js";

const BIN = new URL("../../bin/webgates-sessions.mjs", import.meta.url).pathname;
const cli = (args, input) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", input });

function withDir(fn) {
  const dir = mkdtempSync(join(tmpdir(), "wgs-cli-"));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("keygen prints a new private JWK an Authority accepts", () => {
  const r = cli(["keygen"]);
  assert.equal(r.status, 0, r.stderr);
  const key = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(key).sort(), ["alg", "crv", "d", "kid", "kty", "use", "x"]);
  assert.equal(key.kty, "OKP");
  assert.notEqual(JSON.parse(cli(["keygen"]).stdout).d, key.d, "a fresh key each time");
  setup({ key }); // accepted as a signing key
});

test("jwks prints the public JWKS of a key file: one JWK, an array, a JWKS or standard input", async () => {
  const a = JSON.parse(cli(["keygen"]).stdout);
  const b = JSON.parse(cli(["keygen"]).stdout);
  const { authority } = setup({ key: a });
  await withDir((dir) => {
    const write = (name, v) => {
      const p = join(dir, name);
      writeFileSync(p, JSON.stringify(v));
      return p;
    };
    const one = cli(["jwks", write("one.json", a)]);
    assert.equal(one.status, 0, one.stderr);
    const published = JSON.parse(one.stdout);
    assert.deepEqual(published, authority.jwks(), "the same JWKS the authority publishes");
    assert.ok(!one.stdout.includes(a.d), "no private key material");
    const both = JSON.parse(cli(["jwks", write("both.json", [a, b])]).stdout);
    assert.deepEqual(both.keys.map((k) => k.kid), [a.kid, b.kid]);
    assert.ok(both.keys.every((k) => k.d === undefined));
    assert.deepEqual(JSON.parse(cli(["jwks", write("set.json", { keys: [a, b] })]).stdout), both);
    assert.deepEqual(JSON.parse(cli(["jwks", "-"], JSON.stringify([a, b])).stdout), both);

    const dup = cli(["jwks", write("dup.json", [a, a])]);
    assert.equal(dup.status, 1);
    assert.match(dup.stderr, /key_duplicate_kid/);
    const mismatched = cli(["jwks", write("bad.json", { ...a, x: b.x })]);
    assert.equal(mismatched.status, 1);
    assert.match(mismatched.stderr, /key_mismatch/);
    assert.ok(!mismatched.stderr.includes(a.d), "the error names no key material");
    const missing = cli(["jwks", join(dir, "missing.json")]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cannot read/);
    writeFileSync(join(dir, "garbage"), "{not json");
    assert.match(cli(["jwks", join(dir, "garbage")]).stderr, /is not JSON/);
  });
});

test("inspect prints header and payload, labelled UNVERIFIED, and claims no signature check", async () => {
  const { authority } = setup();
  const s = await authority.issue({ subject: "inspected", claims: { role: "admin" } });
  const r = cli(["inspect", s.accessToken]);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const { header, payload } = decodeJws(s.accessToken);
  assert.deepEqual(out, { verified: false, header, payload });
  assert.match(r.stderr, /UNVERIFIED/);
  assert.doesNotMatch(r.stdout + r.stderr, /signature (is )?valid|verified: true/i);
  // A tampered token decodes the same: nothing was checked, and the output says so.
  const forged = `${s.accessToken.slice(0, -4)}AAAA`;
  assert.equal(JSON.parse(cli(["inspect", forged]).stdout).verified, false);

  const refresh = cli(["inspect", s.refreshToken]);
  assert.equal(refresh.status, 1);
  assert.match(refresh.stderr, /not a JWT/);
  assert.equal(cli(["inspect", "a.b.c"]).status, 1);
});

test("usage errors exit 2 and print the usage", () => {
  for (const args of [[], ["nope"], ["jwks"], ["inspect"], ["keygen", "extra"]]) {
    const r = cli(args);
    assert.equal(r.status, 2, `${args}: ${r.stderr}`);
    assert.match(r.stderr, /usage: webgates-sessions/);
  }
  const help = cli(["--help"]);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /keygen/);
});

test("publicJwk and jwks: the public side of private keys, checked, through the core", async () => {
  const { authority, key, clock } = setup();
  assert.deepEqual(publicJwk(key), authority.jwks().keys[0]);
  assert.deepEqual(jwks([key]), authority.jwks());
  const { kid: _kid, ...noKid } = key;
  assert.equal(publicJwk(noKid).kid, key.kid, "kid computed when absent");
  assert.deepEqual(publicJwk(publicJwk(key)), publicJwk(key), "a public JWK maps to itself");
  const s = await authority.issue({ subject: "pub" });
  assert.equal(new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: jwks([key]), clock: clock.now }).verify(s.accessToken).sub, "pub");
  throwsCode(() => publicJwk({ ...key, x: publicJwk(setup().key).x }), { code: "key_mismatch" });
  throwsCode(() => publicJwk("{}"), { code: "invalid_input", ctor: TypeError });
  throwsCode(() => jwks([key, key]), { code: "key_duplicate_kid" });
  throwsCode(() => jwks(key), { code: "invalid_input", ctor: TypeError });
  throwsCode(() => jwks(Array(65).fill(key)), { code: "invalid_input", ctor: RangeError });
  assert.deepEqual(jwks([]), { keys: [] });
});
