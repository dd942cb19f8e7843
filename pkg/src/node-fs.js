// `node:fs` for the Node entry points. `process.getBuiltinModule` (Node 20.16 and later) returns
// the module Node loaded at startup. A static `import "node:fs"` makes Node first build an ES
// module facade over its ~100 exports, which cost about 2 ms of every cold start here (see
// scripts/benchmarks-notes.md). Older Node versions fall back to that import.
export const fs = globalThis.process.getBuiltinModule?.("node:fs") ?? (await import("node:fs"));
