// Runs examples/worker/worker.js in workerd through Miniflare, as wrangler would deploy it:
// bundled with esbuild (worker.js imports "hono", which workerd cannot resolve by itself), the
// .wasm kept as a compiled module next to the bundle's name. Used by demo.mjs, the workerd tests
// and pkg/bench/worker-bench.mjs. Needs pkg/node_modules (npm ci in pkg/) and pkg/wasm built.
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
const fromPkg = createRequire(join(root, "pkg/package.json"));
const load = async (name) => import(pathToFileURL(fromPkg.resolve(name)).href);

/** Miniflare options for `scriptPath` (default worker.js) bundled, with the example's bindings. */
export async function workerOptions({ scriptPath = join(here, "worker.js"), bindings = {}, port, host = "127.0.0.1", durableObjects, loginLimit = 10 } = {}) {
  const esbuild = await load("esbuild");
  const out = join(dirname(scriptPath), "bundle.js"); // never written: the module's name in workerd
  const wasmPaths = [];
  const result = await esbuild.build({
    entryPoints: [scriptPath],
    bundle: true,
    format: "esm",
    write: false,
    outfile: out,
    external: ["cloudflare:*"],
    nodePaths: [join(root, "pkg/node_modules")], // hono, for worker.js outside pkg/
    plugins: [
      {
        name: "wasm-module",
        setup(build) {
          build.onResolve({ filter: /\.wasm$/ }, (args) => {
            const path = join(args.resolveDir, args.path);
            wasmPaths.push(path);
            return { path: relative(dirname(out), path), external: true };
          });
        },
      },
    ],
    logLevel: "silent",
  });
  return {
    modules: [
      { type: "ESModule", path: out, contents: result.outputFiles[0].text },
      ...wasmPaths.map((path) => ({ type: "CompiledWasm", path })),
    ],
    modulesRoot: root,
    durableObjects: durableObjects ?? { AUTHORITY: { className: "SessionAuthority", useSQLite: true } }, // as wrangler.toml
    ratelimits: { LOGIN_LIMITER: { simple: { limit: loginLimit, period: 60 } } }, // as wrangler.toml (10)
    bindings: {
      ISSUER: "https://auth.webgates.example",
      AUDIENCE: "webgates-demo",
      ...bindings,
    },
    compatibilityDate: "2025-01-01",
    ...(port !== undefined && { host, port }),
  };
}

/** Miniflare itself, from pkg/node_modules. */
export const loadMiniflare = async () => (await load("miniflare")).Miniflare;
