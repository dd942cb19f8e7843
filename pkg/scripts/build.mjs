// Builds the package from source: the Rust bindings crate for wasm32 (two release modules), the
// wasm-bindgen glue (--target web, one build for every runtime), a wasm-opt pass, and the bundled
// Node and Deno entry points in dist/ (esbuild, from npm ci). Installs the wasm32 target and the
// wasm-bindgen CLI at exactly the version Cargo.lock pins when they are missing.
// Usage: node scripts/build.mjs   (from pkg/ or anywhere)
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const pkg = dirname(dirname(fileURLToPath(import.meta.url)));
const root = dirname(pkg);
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { stdio: "inherit", cwd: root, ...opts });
const output = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  } catch {
    return "";
  }
};

// 1. Toolchain: the wasm32 target and the wasm-bindgen CLI matching the locked crate version.
if (!output("rustup", ["target", "list", "--installed"]).split("\n").includes("wasm32-unknown-unknown")) {
  run("rustup", ["target", "add", "wasm32-unknown-unknown"]);
}
const lock = readFileSync(join(root, "Cargo.lock"), "utf8");
const locked = /name = "wasm-bindgen"\nversion = "([^"]+)"/.exec(lock)?.[1];
if (!locked) throw new Error("wasm-bindgen is not in Cargo.lock");
const have = output("wasm-bindgen", ["--version"]).trim().split(" ")[1];
if (have !== locked) {
  console.log(`installing wasm-bindgen-cli ${locked} (found ${have ?? "none"})`);
  // Not --locked: the CLI's lockfile pins a webpki-roots this registry mirror lacks.
  run("cargo", ["install", "wasm-bindgen-cli", "--version", locked, "--force"]);
}

// 2. Two release modules from the bindings crate: the whole package (default features) and the
// verifier-only module behind `webgates-sessions/verifier` (no `authority` feature: no signing,
// stores or hooks, so about 40 % of the size and a faster cold start for resource services).
// Each is built through `cargo rustc --crate-type cdylib`: the crate is also an rlib (for the
// wasm-bindgen tests), and Cargo silently skips LTO for a library that is both. Profiles
// (Cargo.toml): `wasm-release` (opt-level 3 for our crates, the crypto kernels and the JSON
// parser; "z" elsewhere) and `wasm-verifier` (3 only for the crypto kernels: smaller, so Node's
// lazy compilation reaches the first verified token sooner). Then the glue for every runtime
// (Node, Deno, workerd and bundlers all load the --target web output) and a wasm-opt pass.
const out = join(pkg, "wasm");
mkdirSync(out, { recursive: true });
const wasmOpt = join(pkg, "node_modules/.bin/wasm-opt");
for (const [name, profile, features] of [
  ["webgates_sessions_wasm", "wasm-release", []],
  ["webgates_sessions_verifier", "wasm-verifier", ["--no-default-features"]],
  // `webgates-sessions/conformance`: the full module plus the store conformance suite.
  ["webgates_sessions_conformance", "wasm-release", ["--features", "conformance"]],
]) {
  run("cargo", ["rustc", "--profile", profile, "-p", "webgates-sessions-wasm", "--target", "wasm32-unknown-unknown", "--crate-type", "cdylib", ...features]);
  const input = join(root, `target/wasm32-unknown-unknown/${profile}/webgates_sessions_wasm.wasm`);
  run("wasm-bindgen", ["--target", "web", "--out-dir", out, "--out-name", name, input]);
  const wasm = join(out, `${name}_bg.wasm`);
  if (existsSync(wasmOpt)) {
    run(wasmOpt, ["-O3", wasm, "-o", wasm]);
  } else {
    console.warn("wasm-opt not found (run npm ci in pkg/): skipping the optimisation pass");
  }
  const bytes = readFileSync(wasm);
  console.log(`built ${wasm}: ${statSync(wasm).size} bytes, ${gzipSync(bytes).length} gzip`);
}

// 3. The Node and Deno entry points (of `webgates-sessions` and `webgates-sessions/verifier`) as
// one JS file each, in dist/: the entry, the glue, the API classes and the stores bundled by
// esbuild. Node and Deno load every ES module separately (about 0.6 ms each on a cold start; the
// main entry was eight modules). The workerd and browser entries stay unbundled: the
// application's bundler (wrangler, Vite, ...) bundles them anyway, and it must see the glue next
// to its .wasm. The .wasm files stay separate; dist/ mirrors src/'s depth, so the relative URLs
// in the sources stay valid.
const esbuild = join(pkg, "node_modules/.bin/esbuild");
if (!existsSync(esbuild)) throw new Error("esbuild not found: run npm ci in pkg/");
for (const entry of ["node.js", "deno.js", "verifier/node.js", "verifier/deno.js"]) {
  run(esbuild, [
    join(pkg, "src", entry),
    "--bundle",
    "--format=esm",
    `--platform=${entry.endsWith("node.js") ? "node" : "neutral"}`,
    "--log-level=warning",
    `--outfile=${join(pkg, "dist", entry)}`,
  ]);
}
