// The bundling recipe of pkg/README.md ("Bundling with esbuild"), run as written: a small consumer
// that imports "webgates-sessions" and "webgates-sessions/verifier" by name is bundled with the
// devDependency esbuild and the documented options, then run. The Workers bundle runs in workerd
// (Miniflare, with the module rules wrangler applies to a bundle: .js as ES modules, .wasm as
// compiled modules); the Node bundle runs in a fresh Node process. The consumer sees the package
// through node_modules/webgates-sessions, a link to this package, as after `npm install`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { generateSigningKey } from "../../dist/node.js";

const pkgDir = fileURLToPath(new URL("../../", import.meta.url));

// The consumer: issue, renew, and verify the renewed access token with the verifier-only module.
const CONSUMER = `
import { Authority, MemoryStore } from "webgates-sessions";
import { Verifier } from "webgates-sessions/verifier";

export async function walkthrough(signingKey) {
  const authority = new Authority({
    issuer: "https://auth.example", audience: "api.example",
    signingKeys: [signingKey], store: new MemoryStore(),
  });
  const issued = await authority.issue({ subject: "user-42" });
  const renewed = await authority.renew(issued.refreshToken);
  const verifier = new Verifier({ issuer: "https://auth.example", audience: "api.example", jwks: authority.jwks() });
  return { outcome: renewed.outcome, sub: verifier.verify(renewed.accessToken).sub };
}
`;

const WORKER = `
import { walkthrough } from "./consumer.js";
export default {
  async fetch(request, env) {
    return Response.json(await walkthrough(JSON.parse(env.SIGNING_KEY)));
  },
};
`;

const SERVER = `
import { walkthrough } from "./consumer.js";
import { generateSigningKey } from "webgates-sessions";
process.stdout.write(JSON.stringify(await walkthrough(generateSigningKey())));
`;

/** A consumer project in a temp directory: src/ with the files, node_modules/webgates-sessions. */
function consumerProject(files) {
  const dir = mkdtempSync(join(tmpdir(), "webgates-esbuild-"));
  mkdirSync(join(dir, "src"));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(pkgDir, join(dir, "node_modules", "webgates-sessions"), "dir");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  writeFileSync(join(dir, "src", "consumer.js"), CONSUMER);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, "src", name), text);
  return dir;
}

test("a Workers bundle made with esbuild (workerd conditions, .wasm copied) runs in workerd", async () => {
  const dir = consumerProject({ "worker.js": WORKER });
  let mf;
  try {
    // The options pkg/README.md documents for Cloudflare Workers.
    await build({
      absWorkingDir: dir,
      entryPoints: ["src/worker.js"],
      bundle: true,
      format: "esm",
      platform: "browser",
      conditions: ["workerd", "worker"],
      loader: { ".wasm": "copy" },
      outdir: "dist",
      logLevel: "warning",
    });
    const out = join(dir, "dist");
    const files = readdirSync(out).sort();
    const wasm = files.filter((f) => f.endsWith(".wasm"));
    // Both modules are copied: the full one and the verifier-only one.
    assert.equal(wasm.length, 2, `dist/ holds ${files.join(", ")}`);
    const bundle = readFileSync(join(out, "worker.js"), "utf8");
    for (const file of wasm) assert.ok(bundle.includes(`"./${file}"`), `the bundle imports ./${file}`);

    mf = new Miniflare({
      modules: true,
      scriptPath: join(out, "worker.js"),
      modulesRoot: out,
      modulesRules: [
        { type: "ESModule", include: ["**/*.js"] },
        { type: "CompiledWasm", include: ["**/*.wasm"] },
      ],
      bindings: { SIGNING_KEY: JSON.stringify(generateSigningKey()) },
      compatibilityDate: "2025-01-01",
    });
    const res = await mf.dispatchFetch("http://localhost/");
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { outcome: "renewed", sub: "user-42" });
  } finally {
    await mf?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a Node bundle made with esbuild (the package kept external) runs in Node", async () => {
  const dir = consumerProject({ "server.js": SERVER });
  try {
    // The options pkg/README.md documents for Node.
    await build({
      absWorkingDir: dir,
      entryPoints: ["src/server.js"],
      bundle: true,
      format: "esm",
      platform: "node",
      packages: "external",
      outdir: "dist",
      logLevel: "warning",
    });
    const bundle = readFileSync(join(dir, "dist", "server.js"), "utf8");
    assert.match(bundle, /from "webgates-sessions"/, "the package stays an import");
    assert.match(bundle, /walkthrough/, "the application code is bundled");
    const out = execFileSync(process.execPath, [join(dir, "dist", "server.js")], { cwd: dir, encoding: "utf8" });
    assert.deepEqual(JSON.parse(out), { outcome: "renewed", sub: "user-42" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
