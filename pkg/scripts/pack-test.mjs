// Packs the npm package and installs the tarball, offline, into a throwaway consumer project in
// the OS temp directory; then imports "webgates-sessions" by name from plain Node ESM, issues,
// renews and verifies a session, and type-checks a TypeScript consumer against the packed types.
// Also checks the tarball's contents. Exits non-zero on any failure; always cleans up.
//
//   node scripts/pack-test.mjs
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const pkgDir = dirname(dirname(fileURLToPath(import.meta.url)));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const work = mkdtempSync(join(tmpdir(), "webgates-pack-"));
const failures = [];

function run(cmd, args, cwd, env = {}) {
  return execFileSync(cmd, args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false", ...env },
  });
}

function check(cond, what) {
  if (!cond) failures.push(what);
  console.log(`${cond ? "ok  " : "FAIL"} ${what}`);
}

try {
  // 1. Pack into the temp directory (nothing is left in pkg/).
  const packed = JSON.parse(run(npm, ["pack", "--json", "--pack-destination", work], pkgDir))[0];
  const tgz = join(work, packed.filename);
  check(existsSync(tgz), `npm pack produced ${packed.filename}`);
  const files = packed.files.map((f) => f.path);
  console.log(`     ${files.length} files, ${packed.size} bytes packed, ${packed.unpackedSize} unpacked`);
  for (const required of [
    "package.json",
    "index.d.ts",
    "README.md",
    "wasm/webgates_sessions_wasm.js",
    "wasm/webgates_sessions_wasm_bg.wasm",
    "src/api.js",
    "src/node.js",
    "src/deno.js",
    "src/workerd.js",
    "src/browser.js",
    "src/stores/memory.js",
    "src/stores/deno-kv.js",
    "src/stores/durable-object.js",
    "src/stores/workers-kv.js",
    "src/verifier-class.js",
    "src/verifier/api.js",
    "src/verifier/node.js",
    "src/verifier/deno.js",
    "src/verifier/workerd.js",
    "src/verifier/browser.js",
    "dist/node.js",
    "dist/deno.js",
    "dist/verifier/node.js",
    "dist/verifier/deno.js",
    "wasm/webgates_sessions_verifier.js",
    "wasm/webgates_sessions_verifier_bg.wasm",
    "verifier.d.ts",
    "conformance.d.ts",
    "src/errors.js",
    "src/conformance/api.js",
    "src/conformance/node.js",
    "src/conformance/deno.js",
    "src/conformance/workerd.js",
    "src/conformance/browser.js",
    "wasm/webgates_sessions_conformance.js",
    "wasm/webgates_sessions_conformance_bg.wasm",
    "bin/webgates-sessions.mjs",
    "hono.d.ts",
    "src/hono/index.js",
  ]) {
    check(files.includes(required), `tarball contains ${required}`);
  }
  for (const forbidden of [/^test\//, /^node_modules\//, /^scripts\//, /(^|\/)\.env/, /\.tgz$/, /^target\//, /\.rs$/, /^bindings\//]) {
    const hits = files.filter((f) => forbidden.test(f));
    check(hits.length === 0, `tarball has no ${forbidden} ${hits.length ? JSON.stringify(hits) : ""}`);
  }

  // Hono is an optional peer dependency: nothing outside src/hono may import it.
  const honoImporters = files.filter(
    (f) => f.endsWith(".js") && !f.startsWith("src/hono/") && /from ["']hono(\/[^"']*)?["']/.test(readFileSync(join(pkgDir, f), "utf8")),
  );
  check(honoImporters.length === 0, `only src/hono imports hono ${honoImporters.length ? JSON.stringify(honoImporters) : ""}`);

  // 2. A consumer project that depends on nothing but the tarball.
  const app = join(work, "consumer");
  run("mkdir", ["-p", app], work);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2));
  run(npm, ["install", "--offline", "--no-audit", "--no-fund", "--cache", join(work, "npm-cache"), tgz], app);
  check(existsSync(join(app, "node_modules/webgates-sessions/package.json")), "tarball installed offline");
  check(!existsSync(join(app, "node_modules/webgates-sessions/node_modules")), "no nested node_modules");
  // The peer dependency, offline: packed from pkg/node_modules/hono, for webgates-sessions/hono.
  const hono = JSON.parse(run(npm, ["pack", "--json", "--pack-destination", work, join(pkgDir, "node_modules/hono")], work))[0];
  run(npm, ["install", "--offline", "--no-audit", "--no-fund", "--cache", join(work, "npm-cache"), join(work, hono.filename)], app);

  // 3. Plain Node ESM, importing by package name (the "node" export condition).
  writeFileSync(
    join(app, "smoke.mjs"),
    `import assert from "node:assert/strict";
import { Authority, Verifier, MemoryStore, generateSigningKey, denoKvStore, durableObjectStore, workersKvStore } from "webgates-sessions";
let now = Date.UTC(2030, 0, 1);
const clock = () => now;
const key = generateSigningKey();
const authority = new Authority({ issuer: "https://auth.example", audience: "api.example", signingKeys: [key], store: new MemoryStore(), clock });
const s = await authority.issue({ subject: "packed-user", claims: { role: "admin" }, client: { userAgent: "pack-test" } });
now += 10_000;
const r = await authority.renew(s.refreshToken);
assert.equal(r.outcome, "renewed");
assert.equal(r.generation, 1);
const again = await authority.renew(s.refreshToken);
assert.equal(again.refreshToken, r.refreshToken);
const verifier = new Verifier({ issuer: "https://auth.example", audience: "api.example", jwks: authority.jwks(), clock });
const claims = verifier.verify(r.accessToken);
assert.equal(claims.sub, "packed-user");
assert.equal(claims.role, "admin");
assert.equal((await authority.listSessions("packed-user")).sessions.length, 1);
assert.equal(typeof denoKvStore, "function");
assert.equal(typeof durableObjectStore, "function");
assert.equal(typeof workersKvStore, "function");
try { new Authority({ issuer: "x" }); assert.fail("no throw"); } catch (e) { assert.equal(e.code, "invalid_input"); }
const small = await import("webgates-sessions/verifier");
assert.deepEqual(Object.keys(small).sort(), ["Verifier", "WebgatesError", "createRemoteVerifier", "isWebgatesError"]);
const resource = new small.Verifier({ issuer: "https://auth.example", audience: "api.example", jwks: authority.jwks(), clock });
assert.deepEqual(resource.verify(r.accessToken), claims);
const { runStoreConformance, storeConformanceCases, WebgatesError } = await import("webgates-sessions/conformance");
const report = await runStoreConformance(new MemoryStore(), "packed");
assert.deepEqual(report.failed, []);
assert.deepEqual(report.passed, storeConformanceCases().map((c) => c.name));
try { new Authority({ issuer: "x" }); } catch (e) { assert.equal(WebgatesError.from(structuredClone(e))?.code, "invalid_input"); }
const { Hono } = await import("hono");
const { authRoutes, issueSession, requireAuth } = await import("webgates-sessions/hono");
const auth = authRoutes({ authority, verifier, origin: "https://app.example" });
const web = new Hono().route("/", auth);
web.post("/auth/login", (c) => issueSession(c, "packed-user", { auth }));
web.get("/me", requireAuth({ verifier }), (c) => c.json(c.var.claims));
const issued = await web.request("/auth/login", { method: "POST", headers: { origin: "https://app.example" } });
assert.equal(issued.status, 200);
assert.match(issued.headers.get("set-cookie"), /^__Secure-wg_refresh=/);
const me = await web.request("/me", { headers: { authorization: "Bearer " + (await issued.json()).access_token } });
assert.equal((await me.json()).sub, "packed-user");
console.log("smoke ok");
`,
  );
  const out = run(process.execPath, ["smoke.mjs"], app);
  check(out.includes("smoke ok"), "import 'webgates-sessions', '/verifier', '/conformance' and '/hono' by name: issue, renew, verify, run the store suite, serve the routes");

  // 3b. The packed command line, as `npx webgates-sessions` runs it (offline: the installed bin).
  const bin = join(app, "node_modules/.bin/webgates-sessions");
  check(existsSync(bin), "npm linked the webgates-sessions bin");
  const key = JSON.parse(run(bin, ["keygen"], app));
  check(key.kty === "OKP" && typeof key.d === "string", "webgates-sessions keygen prints a private JWK");
  writeFileSync(join(app, "key.json"), JSON.stringify(key));
  const published = JSON.parse(run(bin, ["jwks", "key.json"], app));
  check(published.keys.length === 1 && published.keys[0].kid === key.kid && published.keys[0].d === undefined, "webgates-sessions jwks key.json prints the public JWKS");
  const npx = JSON.parse(run(npm, ["exec", "--offline", "--no", "--", "webgates-sessions", "jwks", "key.json"], app));
  check(JSON.stringify(npx) === JSON.stringify(published), "npx webgates-sessions jwks runs the packed bin");

  // 4. The packed types resolve through package.json "exports" → "types" under NodeNext.
  const tsc = join(pkgDir, "node_modules/typescript/bin/tsc");
  if (existsSync(tsc)) {
    writeFileSync(
      join(app, "typed.ts"),
      `import { Authority, MemoryStore, generateSigningKey, type RenewOutcome } from "webgates-sessions";
import { Verifier, type AccessTokenClaims } from "webgates-sessions/verifier";
import { runStoreConformance, type ConformanceReport } from "webgates-sessions/conformance";
export const conform = (): Promise<ConformanceReport> => runStoreConformance(new MemoryStore(), "ns");
export const check = (t: string): AccessTokenClaims => new Verifier({ issuer: "i", audience: "a", jwks: { keys: [] } }).verify(t);
const a = new Authority({ issuer: "i", audience: "a", signingKeys: [generateSigningKey()], store: new MemoryStore() });
export async function f(t: string): Promise<string> {
  const r: RenewOutcome = await a.renew(t);
  return r.outcome === "renewed" ? r.refreshToken : r.outcome;
}
// @ts-expect-error — a misspelled option is a type error for consumers of the tarball too.
new Authority({ issuer: "i", audience: "a", signingKeys: [generateSigningKey()], store: new MemoryStore(), accessTokenTTL: 1 });
`,
    );
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, target: "ES2022", lib: ["ES2022"], module: "NodeNext", moduleResolution: "NodeNext", types: [] },
        files: ["typed.ts"],
      }),
    );
    let typed = true;
    try {
      run(process.execPath, [tsc, "-p", "tsconfig.json"], app);
    } catch (e) {
      typed = false;
      console.log(e.stdout || e.message);
    }
    check(typed, "the packed index.d.ts and verifier.d.ts type-check a NodeNext consumer importing by name");
  } else {
    console.log("skip type check: typescript is not installed in pkg/node_modules");
  }
} catch (e) {
  failures.push(`unexpected: ${e.message}`);
  console.error(e.stdout ?? "", e.stderr ?? "", e);
} finally {
  rmSync(work, { recursive: true, force: true });
}

if (failures.length) {
  console.error(`\npack-test: ${failures.length} failure(s)`);
  for (const f of failures) console.error(`  - ${f}`);
  process.exit(1);
}
console.log("\npack-test: ok");
