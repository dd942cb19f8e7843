// Types of `webgates-sessions/conformance`: the store conformance suite for custom SessionStores.
import type { SessionStore } from "./index.js";

export { WebgatesError, isWebgatesError } from "./index.js";
export type { SessionStore } from "./index.js";

/** One case of the suite. */
export interface ConformanceCase {
  /** Stable name; also the key sub-prefix the case writes under. */
  name: string;
  /** What is done and what must hold. */
  description: string;
}

/** Every case in one of the two lists, in suite order. */
export interface ConformanceReport {
  passed: string[];
  failed: { case: string; detail: string }[];
}

/**
 * Runs the core's store conformance suite against `store`, through the same bridge the authority
 * uses, writing only under `<namespace>/`. Rejects (with a TypeError, `invalid_input`) only if
 * `store` is not a store object; a failing store resolves with its failures.
 */
export function runStoreConformance(store: SessionStore, namespace: string): Promise<ConformanceReport>;

/** Every case, in the order the suite runs them. */
export function storeConformanceCases(): ConformanceCase[];
