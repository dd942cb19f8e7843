// The API of `webgates-sessions/conformance`: the core's store conformance suite, run over the
// same bridge the authority drives a store through (bindings/src/conformance.rs). For store
// authors' tests; an application never needs it. The entry point (node.js, deno.js, workerd.js,
// browser.js) instantiates its wasm module first (the full module plus the suite); nothing here runs at module top level.
import {
  runStoreConformance as wasmRun,
  storeConformanceCases as wasmCases,
} from "../../wasm/webgates_sessions_conformance.js";

export { WebgatesError, isWebgatesError } from "../errors.js";

/**
 * Runs every case against `store`, writing only under `<namespace>/`; resolves to
 * `{ passed: [name], failed: [{ case, detail }] }`, every case in one of the two, in suite order.
 */
export async function runStoreConformance(store, namespace) {
  return wasmRun(store, namespace);
}

/** Every case as `{ name, description }`, in the order the suite runs them. */
export function storeConformanceCases() {
  return wasmCases();
}
