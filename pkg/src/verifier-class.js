// The JS Verifier class over a wasm-bindgen Verifier export, shared by the full module (api.js)
// and the verifier-only module (verifier/api.js): `free()` is idempotent and use after free is an
// Error with a code (the raw glue throws an uncoded one).

import { codedError } from "./errors.js";

export const freed = (what) => codedError(Error, "instance_freed", `${what} was freed`);

/** The `Verifier` class wrapping the glue's `WasmVerifier`. */
export function verifierClass(WasmVerifier) {
  return class Verifier {
    #inner;

    constructor(options) {
      this.#inner = new WasmVerifier(options);
    }

    verify(accessToken) {
      if (this.#inner === undefined) throw freed("this Verifier");
      return this.#inner.verify(accessToken);
    }

    /** Releases the wasm memory now instead of at garbage collection; later calls throw. */
    free() {
      const inner = this.#inner;
      this.#inner = undefined;
      inner?.free();
    }
  };
}
