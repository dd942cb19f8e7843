// `node:fs` for the Node entry points, through CommonJS `require`. A static `import "node:fs"`
// makes Node first build an ES module facade over its ~100 exports: about 2 ms of every cold
// start here, against 0.3 ms for `node:module` (see scripts/benchmarks-notes.md). No top-level
// await, so CommonJS code can still `require()` the entry points (Node 20.19 and later).
import { createRequire } from "node:module";

export const fs = createRequire(import.meta.url)("node:fs");
