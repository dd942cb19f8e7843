// Runs the example Worker (worker.js) in workerd through Miniflare on http://127.0.0.1:$PORT
// (default 8787) and walks through a session's life over real HTTP: login → /me → refresh →
// grace retry → replay of a retired refresh token (family revoked, next refresh rejected) →
// a new login → logout. Then it keeps serving until Ctrl-C / SIGTERM.
//
//   node examples/worker/demo.mjs          walkthrough, then serve
//   node examples/worker/demo.mjs --exit   walkthrough, then exit (status 1 if a step misbehaved)
//   STORE=kv node examples/worker/demo.mjs run the authority on Workers KV instead of the DO
//
// It builds nothing: the package's wasm must already be in pkg/wasm/ (scripts/demo.sh builds it)
// and Miniflare comes from pkg/node_modules (npm ci in pkg/).
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const pkgDir = new URL("../../pkg/", import.meta.url);
const exitAfter = process.argv.includes("--exit");
const port = Number(process.env.PORT ?? 8787);
const store = process.env.STORE === "kv" ? "kv" : "do";

function die(message) {
  console.error(`demo: ${message}`);
  process.exit(1);
}
if (!Number.isInteger(port) || port < 0 || port > 65535) die(`PORT must be a port number, got ${process.env.PORT}`);
if (!existsSync(new URL("wasm/webgates_sessions_wasm_bg.wasm", pkgDir))) {
  die("pkg/wasm/ is not built: run scripts/demo.sh (or node pkg/scripts/build.mjs) first");
}
let miniflarePath;
try {
  miniflarePath = createRequire(new URL("package.json", pkgDir)).resolve("miniflare");
} catch {
  die("miniflare is not installed: run npm ci in pkg/");
}
const { Miniflare } = await import(pathToFileURL(miniflarePath).href);
const { generateSigningKey } = await import(new URL("src/node.js", pkgDir).href);

// ---------------------------------------------------------------------------------------------
// Printing: every exchange with tokens shortened to 20 characters.

// Each distinct token also gets a label (R0, R1… for refresh tokens, A0, A1… for access tokens)
// so that rotations are visible although the shortened forms look alike.
const labels = new Map();
const counters = { R: 0, A: 0 };
function short(s) {
  if (s.length <= 24) return s;
  const kind = s.startsWith("wgrt1.") ? "R" : s.startsWith("eyJ") ? "A" : null;
  if (kind && !labels.has(s)) labels.set(s, `${kind}${counters[kind]++}`);
  return `${s.slice(0, 20)}…${kind ? `[${labels.get(s)}]` : ""}`;
}
const shortTokens = (text) => text.replace(/(eyJ[A-Za-z0-9_.-]{20,}|wgrt1\.[A-Za-z0-9_.-]{20,})/g, (t) => short(t));
const INTERESTING = ["set-cookie", "retry-after", "cache-control", "www-authenticate"];
const dim = (s) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);
const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

let base;
const failures = [];

async function exchange(title, method, path, { body, token, cookie } = {}) {
  console.log(`\n${bold(title)}`);
  const headers = { "user-agent": "webgates-demo" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  if (cookie) headers.cookie = `wg_refresh=${cookie}`;
  console.log(`→ ${method} ${path}`);
  if (token) console.log(dim(`  authorization: Bearer ${short(token)}`));
  if (cookie) console.log(dim(`  cookie: wg_refresh=${short(cookie)}`));
  if (body !== undefined) console.log(dim(`  ${JSON.stringify({ ...body, ...(body.password ? { password: "***" } : {}) })}`));

  const res = await fetch(new URL(path, base), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  console.log(`← ${res.status} ${res.statusText}`);
  for (const name of INTERESTING) {
    const values = name === "set-cookie" ? res.headers.getSetCookie() : [res.headers.get(name)].filter(Boolean);
    for (const v of values) console.log(dim(`  ${name}: ${shortTokens(v)}`));
  }
  if (text) console.log(`  ${shortTokens(text)}`);

  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith("wg_refresh="));
  const refresh = setCookie ? setCookie.slice("wg_refresh=".length).split(";")[0] : null;
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: expect() will report it
  }
  return { status: res.status, json, refresh };
}

function expect(ok, what) {
  console.log(ok ? `  ✓ ${what}` : `  ✗ expected: ${what}`);
  if (!ok) failures.push(what);
}

// ---------------------------------------------------------------------------------------------
// The walkthrough.

async function walkthrough() {
  const alice = { username: "alice", password: "correct-horse" };

  let r = await exchange("0. The public keys resource services verify with", "GET", "/.well-known/jwks.json");
  expect(r.status === 200 && r.json?.keys?.length === 1 && !("d" in r.json.keys[0]), "200, one public key, no private part");

  r = await exchange("1a. Login with a wrong password", "POST", "/auth/login", { body: { ...alice, password: "wrong" } });
  expect(r.status === 401 && r.refresh === null, "401 and no cookie");

  const login = await exchange("1b. Login (alice / correct-horse)", "POST", "/auth/login", { body: alice });
  expect(login.status === 200 && login.json?.accessToken && login.refresh, "200, access token in the body, refresh token only in the cookie");
  const r0 = login.refresh;

  r = await exchange("2. Who am I? (verified locally in the Worker from the JWKS, no storage)", "GET", "/me", { token: login.json?.accessToken });
  expect(r.status === 200 && r.json?.claims?.sub === "alice", "200 with sub=alice");

  const first = await exchange("3. Refresh with R0: the refresh token rotates", "POST", "/auth/refresh", { cookie: r0 });
  expect(first.status === 200 && first.refresh && first.refresh !== r0, "200 and a new refresh cookie");
  const r1 = first.refresh;

  r = await exchange("4. R0 again (a lost response, a second tab), inside the grace window", "POST", "/auth/refresh", { cookie: r0 });
  expect(r.status === 200 && r.refresh === r1, "200 with the SAME successor R1: the chain never forks");

  const second = await exchange("5. Refresh with the successor R1: it rotates again, R0 is now retired", "POST", "/auth/refresh", { cookie: r1 });
  expect(second.status === 200 && second.refresh && second.refresh !== r1, "200 and another new cookie");
  const r2 = second.refresh;

  r = await exchange("6. Replay of R0, now retired (e.g. a stolen copy)", "POST", "/auth/refresh", { cookie: r0 });
  expect(r.status === 401 && r.json?.error === "replay_detected", "401 replay_detected: the whole family is revoked, the cookie cleared");

  r = await exchange("7. The legitimate holder's latest token R2 is now dead too", "POST", "/auth/refresh", { cookie: r2 });
  expect(r.status === 401 && r.json?.reason === "revoked", "401 refresh_rejected (revoked): the user must log in again");

  const again = await exchange("8. A new login", "POST", "/auth/login", { body: alice });
  expect(again.status === 200 && again.refresh, "200 with a fresh session");

  r = await exchange("9. Logout", "POST", "/auth/logout", { token: again.json?.accessToken, cookie: again.refresh });
  expect(r.status === 200 && r.json?.revoked === true, "200, session revoked, cookie cleared");

  r = await exchange("10. Refresh after logout", "POST", "/auth/refresh", { cookie: again.refresh });
  expect(r.status === 401 && r.json?.reason === "revoked", "401 refresh_rejected (revoked)");

  r = await exchange("11. The access token is still accepted until it expires (≤ 5 min: the documented revocation bound)", "GET", "/me", { token: again.json?.accessToken });
  expect(r.status === 200, "200 until exp");
}

// ---------------------------------------------------------------------------------------------

const mf = new Miniflare({
  modules: true,
  scriptPath: fileURLToPath(new URL("./worker.js", import.meta.url)),
  modulesRoot: root, // worker.js imports ../../pkg/src/workerd.js
  modulesRules: [
    { type: "ESModule", include: ["**/*.js"] },
    { type: "CompiledWasm", include: ["**/*.wasm"] },
  ],
  durableObjects: { AUTHORITY: { className: "SessionAuthority", useSQLite: true } }, // as wrangler.toml
  kvNamespaces: ["SESSIONS"],
  // A fresh demo key per run. In production SIGNING_KEY is a secret (wrangler secret put).
  bindings: { SIGNING_KEY: JSON.stringify(generateSigningKey()), STORE: store },
  compatibilityDate: "2025-01-01",
  host: "127.0.0.1",
  port,
});

let disposed = false;
async function shutdown(code) {
  if (!disposed) {
    disposed = true;
    await mf.dispose().catch(() => {}); // a failed start rejects here again
  }
  process.exit(code);
}

try {
  base = await mf.ready;
} catch (e) {
  console.error(`demo: could not start workerd on 127.0.0.1:${port}: ${e?.message ?? e}`);
  await shutdown(1);
}
console.log(`webgates-sessions example Worker (authority on ${store === "kv" ? "Workers KV" : "a Durable Object"}) listening on ${base.href}`);

try {
  await walkthrough();
} catch (e) {
  failures.push(`walkthrough threw: ${e?.message ?? e}`);
  console.error(e);
}
console.log(
  failures.length === 0
    ? `\nAll steps behaved as expected.`
    : `\n${failures.length} step(s) did not behave as expected:\n${failures.map((f) => `  - ${f}`).join("\n")}`,
);

if (exitAfter) {
  await shutdown(failures.length === 0 ? 0 : 1);
} else {
  process.on("SIGINT", () => shutdown(0));
  process.on("SIGTERM", () => shutdown(0));
  console.log(`\nStill serving on ${base.href} — try:\n` +
    `  curl -i -X POST ${base.href}auth/login -H 'content-type: application/json' -d '{"username":"alice","password":"correct-horse"}'\n` +
    `Press Ctrl-C to stop.`);
}
