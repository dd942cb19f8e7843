// The package's API, shared by every entry point. The entry point (node.js, deno.js, workerd.js,
// browser.js) instantiates the wasm module first; nothing here runs wasm, generates keys or reads
// randomness at module top level (Workers forbid it).
//
// Authority and Verifier are thin JS classes over the wasm exports: they keep `free()` idempotent
// and turn use after free into an Error with a code (the raw glue throws an uncoded one), and
// async methods always reject instead of throwing.
import {
  Authority as WasmAuthority,
  Verifier as WasmVerifier,
  generateSigningKey as wasmGenerateSigningKey,
  publicJwk as wasmPublicJwk,
  jwks as wasmJwks,
  JwksCache as WasmJwksCache,
} from "../wasm/webgates_sessions_wasm.js";

import { freed, verifierClass } from "./verifier-class.js";
import { remoteVerifierFactory } from "./remote-verifier.js";

export { WebgatesError, isWebgatesError } from "./errors.js";

export { MemoryStore } from "./stores/memory.js";
export { denoKvStore } from "./stores/deno-kv.js";
export { durableObjectStore } from "./stores/durable-object.js";
export { workersKvStore } from "./stores/workers-kv.js";
export { d1Store, d1Schema } from "./stores/d1.js";
export { postgresStore, postgresSchema } from "./stores/pg.js";

// `withKeyRing` hands a loaded wasm authority to the constructor: it passes HANDOFF (compared by
// identity, which runs no Proxy trap) with the authority in `handoff` for that one call.
const HANDOFF = Object.freeze({});
let handoff;

export class Authority {
  #inner;

  constructor(options) {
    // `withKeyRing` hands over a loaded wasm authority through a module-private token.
    if (options === HANDOFF) {
      this.#inner = handoff;
      return;
    }
    this.#inner = new WasmAuthority(options);
  }

  /** An authority whose keys live in a key ring persisted in the store (created on first use). */
  static async withKeyRing(options, store) {
    handoff = await WasmAuthority.withKeyRing(options, store);
    try {
      return new Authority(HANDOFF);
    } finally {
      handoff = undefined;
    }
  }

  #use() {
    if (this.#inner === undefined) throw freed("this Authority");
    return this.#inner;
  }

  async issue(request) {
    return this.#use().issue(request);
  }

  async renew(refreshToken) {
    return this.#use().renew(refreshToken);
  }

  async logout(refreshToken) {
    return this.#use().logout(refreshToken);
  }

  async revoke(target) {
    return this.#use().revoke(target);
  }

  async isActive(sessionId) {
    return this.#use().isActive(sessionId);
  }

  async listSessions(subject, page) {
    return this.#use().listSessions(subject, page);
  }

  jwks() {
    return this.#use().jwks();
  }

  activeKid() {
    return this.#use().activeKid();
  }

  addSigningKey(jwk) {
    this.#use().addSigningKey(jwk);
  }

  addVerifyKey(jwk) {
    this.#use().addVerifyKey(jwk);
  }

  activateKey(kid) {
    this.#use().activateKey(kid);
  }

  retireKey(kid) {
    this.#use().retireKey(kid);
  }

  async rotateKeys() {
    return this.#use().rotateKeys();
  }

  async refreshKeys() {
    return this.#use().refreshKeys();
  }

  keysRefreshDue() {
    return this.#use().keysRefreshDue();
  }

  jwksMaxAge() {
    return this.#use().jwksMaxAge();
  }

  async currentJwks() {
    return this.#use().currentJwks();
  }

  keyRingSchedule() {
    return this.#use().keyRingSchedule();
  }

  renewalAdvice(accessExpiresAt) {
    return this.#use().renewalAdvice(accessExpiresAt);
  }

  /** Releases the wasm memory now instead of at garbage collection; later calls throw. */
  free() {
    const inner = this.#inner;
    this.#inner = undefined;
    inner?.free();
  }
}

export const Verifier = verifierClass(WasmVerifier);

/** A verifier that follows a remote JWKS (see remote-verifier.js). */
export const createRemoteVerifier = remoteVerifierFactory(WasmJwksCache);

export function generateSigningKey() {
  return wasmGenerateSigningKey();
}

export function publicJwk(jwk) {
  return wasmPublicJwk(jwk);
}

export function jwks(keys) {
  return wasmJwks(keys);
}
