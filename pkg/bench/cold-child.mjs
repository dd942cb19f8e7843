// One cold start, run by bench.mjs in a fresh `node` process per measurement:
//   node bench/cold-child.mjs <mode>      mode: empty | ours | ours-verifier | ours-compile | jose | fast-jwt
// Prints one JSON line. Times are performance.now() readings, i.e. milliseconds since this
// process started (performance.timeOrigin); `hrDone` is process.hrtime (CLOCK_MONOTONIC, shared
// with the parent) at the first verified token, so the parent can also measure from spawn().
// Nothing is imported statically: `entryMs` is when our own code starts running.
const entryMs = performance.now();
const mode = process.argv[2];
const { BENCH_TOKEN: token, BENCH_JWKS: jwksJson, BENCH_ISS: issuer, BENCH_AUD: audience, BENCH_PEM: pem } = process.env;
const out = { mode, entryMs };

if (mode === "ours" || mode === "ours-verifier") {
  // Reads, compiles and instantiates the wasm: the full module or the verifier-only one.
  const { Verifier } = await import(mode === "ours" ? "../dist/node.js" : "../dist/verifier/node.js");
  out.importedMs = performance.now();
  // The JWKS arrives as JSON text (as a Worker secret or a fetched body does): ours takes the
  // text, jose gets it parsed (JSON.parse counted in its time), fast-jwt takes a PEM.
  const verifier = new Verifier({ issuer, audience, jwks: jwksJson });
  if (verifier.verify(token).sub !== "user-42") throw new Error("bad claims");
} else if (mode === "ours-compile") {
  // compile + instantiate alone, split into read / compile / instantiate (+ glue start).
  const { readFileSync } = await import("node:fs");
  const { initSync } = await import("../wasm/webgates_sessions_wasm.js");
  const t0 = performance.now();
  const bytes = readFileSync(new URL("../wasm/webgates_sessions_wasm_bg.wasm", import.meta.url));
  const t1 = performance.now();
  const module = new WebAssembly.Module(bytes);
  const t2 = performance.now();
  initSync({ module });
  const t3 = performance.now();
  Object.assign(out, { readMs: t1 - t0, compileMs: t2 - t1, instantiateMs: t3 - t2, compileInstantiateMs: t3 - t1 });
} else if (mode === "jose") {
  const { jwtVerify, createLocalJWKSet } = await import("jose");
  out.importedMs = performance.now();
  const jwks = createLocalJWKSet(JSON.parse(jwksJson));
  const { payload } = await jwtVerify(token, jwks, { issuer, audience, algorithms: ["EdDSA"], typ: "at+jwt" });
  if (payload.sub !== "user-42") throw new Error("bad claims");
} else if (mode === "fast-jwt") {
  const { createVerifier } = await import("fast-jwt");
  out.importedMs = performance.now();
  const verify = createVerifier({ key: pem, algorithms: ["EdDSA"], allowedIss: issuer, allowedAud: audience, checkTyp: "at+jwt" });
  if (verify(token).sub !== "user-42") throw new Error("bad claims");
} else if (mode !== "empty") {
  throw new Error(`unknown mode ${mode}`);
}
out.doneMs = performance.now();
out.hrDone = process.hrtime.bigint().toString();
process.stdout.write(JSON.stringify(out) + "\n");
