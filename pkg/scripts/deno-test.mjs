// Runs the Deno tests with the Deno binary from the npm package (no global install needed).
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const pkg = dirname(dirname(fileURLToPath(import.meta.url)));
const deno = join(pkg, "node_modules/.bin/deno");
// --allow-net=127.0.0.1 and the import map: test/deno/hono_example.test.js serves the Deno example
// (which imports "hono" through examples/deno/deno.json) on a local socket.
const flags = ["--unstable-kv", "--allow-read", "--allow-env", "--allow-net=127.0.0.1", "--import-map", "../examples/deno/deno.json"];
execFileSync(deno, ["test", ...flags, "--no-check", "test/deno/"], {
  cwd: pkg,
  stdio: "inherit",
});
