// Shared Miniflare setup for the workerd tests (not a test file itself). modulesRoot is the repo
// root so that workers under pkg/test/workerd/ and examples/worker/ can import ../../pkg/...;
// *.js are ES modules (Miniflare treats *.js as CommonJS by default) and *.wasm compiled
// modules (workerd.js imports the wasm as a WebAssembly.Module).
import { Miniflare } from "miniflare";
import { fileURLToPath } from "node:url";
import { generateSigningKey } from "../../dist/node.js";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

export const modulesRules = [
  { type: "ESModule", include: ["**/*.js"] },
  { type: "CompiledWasm", include: ["**/*.wasm"] },
];

export function signingKeyJson() {
  return JSON.stringify(generateSigningKey());
}

/** The test-only harness worker (conformance and concurrent renewals inside workerd). */
export function startHarness() {
  return new Miniflare({
    modules: true,
    scriptPath: fileURLToPath(new URL("./harness-worker.js", import.meta.url)),
    modulesRoot: repoRoot,
    modulesRules,
    kvNamespaces: ["KV"],
    durableObjects: {
      HARNESS: "HarnessObject",
      HARNESS_SQL: { className: "HarnessSqlObject", useSQLite: true },
      RPC: { className: "RpcObject", useSQLite: true },
    },
    bindings: { SIGNING_KEY: signingKeyJson() },
    compatibilityDate: "2025-01-01",
  });
}

// The example Worker is started by examples/worker/miniflare.mjs (bundled: it imports hono).
