// The store adapters' parameter types (structural, so nothing is needed at install) accept the
// runtime's own handle: tsc checks `denoKvStore(await Deno.openKv())` against the declarations
// `deno types` prints for the Deno of devDependencies, with strict and exactOptionalPropertyTypes.
// (Workers' DurableObjectStorage and KVNamespace are checked against excerpts in test/consumer.ts.)
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";
import { fileURLToPath } from "node:url";

const pkg = fileURLToPath(new URL("../../", import.meta.url));

test("denoKvStore accepts a Deno.Kv as Deno's own declarations type it", () => {
  const dir = mkdtempSync(join(tmpdir(), "webgates-deno-types-"));
  try {
    writeFileSync(join(dir, "deno.d.ts"), execFileSync(join(pkg, "node_modules/.bin/deno"), ["types"], { encoding: "utf8", maxBuffer: 64 << 20 }));
    writeFileSync(
      join(dir, "check.ts"),
      `/// <reference path="./deno.d.ts" />
import { denoKvStore, type SessionStore } from "webgates-sessions";
export async function open(): Promise<SessionStore[]> {
  const kv: Deno.Kv = await Deno.openKv();
  return [denoKvStore(kv), denoKvStore(kv, { prefix: ["tenant", 7, 1n, true, new Uint8Array(1)] }), denoKvStore(kv, { prefix: undefined })];
}
// @ts-expect-error — a symbol is a Deno KV key part, but not one a prefix may hold.
denoKvStore(await Deno.openKv(), { prefix: [Symbol("s")] });
`,
    );
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          exactOptionalPropertyTypes: true,
          noEmit: true,
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          lib: ["ESNext", "DOM"],
          types: [],
          skipLibCheck: true,
          paths: { "webgates-sessions": [join(pkg, "index.d.ts")] },
        },
        files: ["check.ts"],
      }),
    );
    let out = "";
    try {
      execFileSync(process.execPath, [join(pkg, "node_modules/typescript/bin/tsc"), "-p", join(dir, "tsconfig.json")], { encoding: "utf8" });
    } catch (e) {
      out = `${e.stdout}${e.stderr}`;
    }
    assert.equal(out, "", out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
