// Runs the example Worker (worker.js) in workerd through Miniflare on http://127.0.0.1:$PORT
// (default 8787) and runs the shared walkthrough (scripts/walkthrough.mjs: every rule of
// docs/HTTP.md) against it over real HTTP. Then it keeps serving until Ctrl-C / SIGTERM.
//
//   node examples/worker/demo.mjs          walkthrough, then serve
//   node examples/worker/demo.mjs --exit   walkthrough, then exit (status 1 if a check failed)
//   node examples/worker/demo.mjs --serve  serve only (scripts/demo.sh runs the walkthrough itself)
//
// It builds nothing: the package's wasm must already be in pkg/wasm/ (scripts/demo.sh builds it)
// and Miniflare and esbuild come from pkg/node_modules (npm ci in pkg/). The server runs over
// http://, so with INSECURE=true (H2.2: no Secure, cookie wg_refresh).
import { existsSync } from "node:fs";
import { loadMiniflare, workerOptions } from "./miniflare.mjs";

const pkgDir = new URL("../../pkg/", import.meta.url);
const exitAfter = process.argv.includes("--exit");
const serveOnly = process.argv.includes("--serve");
const port = Number(process.env.PORT ?? 8787);

function die(message) {
  console.error(`demo: ${message}`);
  process.exit(1);
}
if (!Number.isInteger(port) || port < 0 || port > 65535) die(`PORT must be a port number, got ${process.env.PORT}`);
if (!existsSync(new URL("wasm/webgates_sessions_wasm_bg.wasm", pkgDir))) {
  die("pkg/wasm/ is not built: run scripts/demo.sh (or node pkg/scripts/build.mjs) first");
}
let Miniflare;
try {
  Miniflare = await loadMiniflare();
} catch {
  die("miniflare is not installed: run npm ci in pkg/");
}
const { generateSigningKey } = await import(new URL("dist/node.js", pkgDir).href);
const { walkthrough } = await import(new URL("../../scripts/walkthrough.mjs", import.meta.url).href);

const origin = `http://127.0.0.1:${port}`;
const mf = new Miniflare(
  await workerOptions({
    port,
    // A fresh demo key per run. In production SIGNING_KEY is a secret (wrangler secret put).
    bindings: { SIGNING_KEY: JSON.stringify(generateSigningKey()), ORIGIN: origin, INSECURE: "true" },
  }),
);

let disposed = false;
async function shutdown(code) {
  if (!disposed) {
    disposed = true;
    await mf.dispose().catch(() => {}); // a failed start rejects here again
  }
  process.exit(code);
}
process.on("SIGINT", () => shutdown(0));
process.on("SIGTERM", () => shutdown(0));

let base;
try {
  base = await mf.ready;
} catch (e) {
  console.error(`demo: could not start workerd on 127.0.0.1:${port}: ${e?.message ?? e}`);
  await shutdown(1);
}
console.log(`webgates-sessions example Worker (authority in a Durable Object) listening on ${base.href}`);

if (!serveOnly) {
  let failures;
  try {
    failures = await walkthrough(base.href, { insecure: true });
  } catch (e) {
    failures = [`walkthrough threw: ${e?.stack ?? e}`];
  }
  console.log(failures.length === 0 ? "\nEvery rule held." : `\n${failures.length} check(s) failed:\n${failures.map((f) => `  - ${f}`).join("\n")}`);
  if (exitAfter) await shutdown(failures.length === 0 ? 0 : 1);
}
console.log(
  `\nServing on ${base.href} — try:\n` +
    `  curl -i -X POST ${base.href}auth/login -H 'origin: ${origin}' -H 'content-type: application/json' -d '{"username":"alice","password":"correct-horse"}'\n` +
    `(the walkthrough's last step fills the login throttle for a minute.) Press Ctrl-C to stop.`,
);
