// A TypeScript consumer of the published declarations, imported by the package name. It is only
// type-checked (`tsc -p test/tsconfig.json`, noEmit): every export, every option bag, outcome
// narrowing, a custom SessionStore and error-code narrowing. The `@ts-expect-error` lines are the
// negative checks: if any of them stopped being an error, tsc would fail with "Unused
// '@ts-expect-error' directive".
import {
  Authority,
  MemoryStore,
  Verifier,
  denoKvStore,
  durableObjectStore,
  generateSigningKey,
  jwks as jwksOf,
  publicJwk as publicJwkOf,
  workersKvStore,
  type AccessTokenClaims,
  type AuthorityOptions,
  type Claims,
  type ClientInfo,
  type ErrorCode,
  type Expect,
  type IssueRequest,
  type IssuedSession,
  type ListSessionsOptions,
  type LogoutOutcome,
  type SessionPage,
  type StoreEntry,
  type Jwk,
  type Jwks,
  type PrivateJwk,
  type RejectReason,
  type RenewOutcome,
  type Renewed,
  type RevokeTarget,
  type SessionEvent,
  type SessionInfo,
  type SessionStore,
  type VerifierOptions,
  WebgatesError,
  isWebgatesError,
  type DenoKvLike,
  type DurableObjectStorageLike,
  type KVNamespaceLike,
  type PrivateJwkInput,
  type PublicJwk,
} from "webgates-sessions";
import { runStoreConformance, storeConformanceCases, type ConformanceReport } from "webgates-sessions/conformance";
import { Verifier as SmallVerifier, WebgatesError as SmallError, type AccessTokenClaims as SmallClaims } from "webgates-sessions/verifier";
import { createRemoteVerifier as createSmallRemote, type RemoteJwksCache as SmallRemoteCache } from "webgates-sessions/verifier";
import {
  createRemoteVerifier,
  type KeyRingAuthorityOptions,
  type RemoteJwksCache,
  type RemoteVerifier,
  type RotationOutcome,
  type StoredJwks,
} from "webgates-sessions";
// @ts-expect-error — the verifier-only entry point has no Authority.
import { Authority as NoAuthority } from "webgates-sessions/verifier";

// ---------------------------------------------------------------------------------------------
// A tiny custom store: the SessionStore interface implemented by hand.

class MapStore implements SessionStore {
  private readonly entries = new Map<string, { value: string; version: string; expiresAt?: number }>();
  private next = 0;

  async get(key: string): Promise<{ value: string; version: string } | null> {
    const e = this.entries.get(key);
    return e ? { value: e.value, version: e.version } : null;
  }

  async set(
    key: string,
    value: string,
    options: { expect: Expect; expiresAt?: number },
  ): Promise<{ ok: true; version: string } | { ok: false }> {
    const current = this.entries.get(key);
    const { expect } = options;
    const ok =
      expect === "any" ||
      (expect === "absent" && current === undefined) ||
      (typeof expect === "object" && current?.version === expect.version);
    if (!ok) return { ok: false };
    const version = String(++this.next);
    const entry: { value: string; version: string; expiresAt?: number } = { value, version };
    if (options.expiresAt !== undefined) entry.expiresAt = options.expiresAt;
    this.entries.set(key, entry);
    return { ok: true, version };
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async list(prefix: string, options: { cursor?: string; limit: number }): Promise<{ keys: string[]; cursor?: string | null }> {
    const keys = [...this.entries.keys()].filter((k) => k.startsWith(prefix) && (options.cursor === undefined || k > options.cursor)).sort();
    const page = keys.slice(0, options.limit);
    return { keys: page, cursor: keys.length > options.limit ? (page[page.length - 1] ?? null) : null };
  }
}

/** A store with the optional batched read. */
class BatchedStore extends MapStore {
  async getMany(keys: string[]): Promise<(StoreEntry | null)[]> {
    return Promise.all(keys.map((k) => this.get(k)));
  }
}
export const batched: SessionStore = new BatchedStore();

// Object literals satisfy the interface too.
const literalStore: SessionStore = {
  get: async () => null,
  set: async () => ({ ok: false }),
  delete: async () => {},
  list: async () => ({ keys: [] }),
};
const syncBatched: SessionStore = { ...literalStore, getMany: (keys: string[]) => keys.map(() => null) };
void syncBatched;
// @ts-expect-error — getMany answers entries (or null), not bare values.
export const badBatched: SessionStore = { ...literalStore, getMany: async (keys: string[]) => keys };

// ---------------------------------------------------------------------------------------------
// Error-code narrowing.


/** Exhaustive over ErrorCode: adding a code to index.d.ts without handling it here fails tsc. */
const httpStatus: Record<ErrorCode, 400 | 401 | 409 | 500 | 503> = {
  invalid_input: 400,
  instance_freed: 500,
  config_invalid: 500,
  key_malformed_jwk: 500,
  key_unsupported_kty: 500,
  key_unsupported_crv: 500,
  key_unsupported_alg: 500,
  key_wrong_use: 500,
  key_invalid_encoding: 500,
  key_weak: 500,
  key_mismatch: 500,
  key_private_not_allowed: 500,
  key_missing_private: 500,
  key_duplicate_kid: 500,
  key_invalid_kid: 500,
  key_unknown_kid: 500,
  key_no_signing_key: 500,
  token_too_large: 401,
  token_malformed: 401,
  token_unsupported_alg: 401,
  token_wrong_typ: 401,
  token_missing_kid: 401,
  token_unknown_kid: 401,
  token_unsupported_crit: 401,
  token_bad_signature: 401,
  token_invalid_claims: 401,
  token_wrong_issuer: 401,
  token_wrong_audience: 401,
  token_expired: 401,
  token_not_yet_valid: 401,
  store_unavailable: 503,
  store_failed: 500,
  store_corrupt_record: 500,
  family_unavailable: 409,
  random_unavailable: 503,
  contention: 503,
  hook_failed: 503,
  jwks_unavailable: 503,
  jwks_stale: 503,
  jwks_too_large: 500,
  jwks_malformed: 500,
  jwks_no_usable_keys: 500,
  jwks_bad_status: 503,
  jwks_timeout: 503,
  jwks_fetch_failed: 503,
  keys_secret_too_short: 500,
  keys_secret_too_long: 500,
  keys_wrong_secret: 500,
  keys_no_active_key: 503,
  keys_ring_not_configured: 500,
  keys_ring_managed: 409,
  // DPoP proofs (core only so far): 401 with `WWW-Authenticate: DPoP` at a resource service; the
  // authority's endpoints answer 400 `invalid_dpop_proof` (RFC 9449 §5, §7.1).
  dpop_too_large: 401,
  dpop_malformed: 401,
  dpop_wrong_typ: 401,
  dpop_unsupported_alg: 401,
  dpop_unsupported_crit: 401,
  dpop_invalid_jwk: 401,
  dpop_private_jwk: 401,
  dpop_invalid_claims: 401,
  dpop_bad_signature: 401,
  dpop_wrong_htm: 401,
  dpop_wrong_htu: 401,
  dpop_iat_in_future: 401,
  dpop_iat_too_old: 401,
  dpop_missing_nonce: 401,
  dpop_wrong_nonce: 401,
  dpop_wrong_ath: 401,
  dpop_wrong_jkt: 401,
};

function describeError(e: unknown): string {
  // After structuredClone or Workers RPC the code is read back from the message.
  const restored: WebgatesError | null = WebgatesError.from(e);
  const codes: readonly ErrorCode[] = WebgatesError.codes;
  void [restored, codes, SmallError.from(e)];
  // @ts-expect-error — from() may return null: narrow first.
  void WebgatesError.from(e).code;
  if (!isWebgatesError(e)) return "unexpected";
  const status = httpStatus[e.code];
  switch (e.code) {
    case "token_expired":
    case "token_not_yet_valid":
      return `renew (${status})`;
    case "store_unavailable":
      return `retry later (${status})`;
    default: {
      const code: ErrorCode = e.code;
      // @ts-expect-error — not an ErrorCode: the comparison has no overlap.
      if (code === "token_revoked") return "impossible";
      return `${code} (${status})`;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Outcome narrowing on `outcome`.

function handle(r: RenewOutcome): string {
  // @ts-expect-error — accessToken exists only once narrowed to "renewed".
  void r.accessToken;
  switch (r.outcome) {
    case "renewed": {
      const renewed: Renewed = r;
      const session: IssuedSession = r;
      const n: number = r.generation;
      const grace: boolean = r.retriedInGrace;
      return `${renewed.accessToken} ${session.refreshToken} ${n} ${grace} ${r.absoluteExpiresAt - r.idleExpiresAt}`;
    }
    case "replayDetected":
      return `replay in ${r.sessionId} / ${r.familyId}`;
    case "rejected": {
      const reason: RejectReason = r.reason;
      // @ts-expect-error — "stolen" is not a RejectReason.
      if (reason === "stolen") return "";
      return reason;
    }
    case "leaseHeld":
      return `retry in ${r.retryAfterMs} ms`;
    default: {
      const unreachable: never = r;
      return unreachable;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Events narrow on `type`.

function describeEvent(e: SessionEvent): string {
  // @ts-expect-error — generation exists only on "renewed".
  void e.generation;
  switch (e.type) {
    case "issued":
      return `${e.subject} ${e.sessionId} ${e.familyId}`;
    case "renewed":
      return `${e.sessionId} #${e.generation}`;
    case "retriedInGrace":
      return e.sessionId;
    case "leaseContended":
      return `${e.sessionId} ${e.retryAfterMs}`;
    case "replayDetected":
      return `${e.subject} ${e.familyId}`;
    case "rejected": {
      const sid: string | undefined = e.sessionId;
      return `${sid ?? "-"} ${e.reason}`;
    }
    case "revoked":
      return "sessionId" in e ? `${e.sessionId} ${e.subject ?? ""}` : "familyId" in e ? e.familyId : e.subject;
    case "loggedOut":
      return `${e.subject} ${e.sessionId}`;
    default: {
      const unreachable: never = e;
      return unreachable;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Runtime handles, typed structurally: shapes modelled on the runtimes' own declarations
// (Deno.Kv, DurableObjectStorage, KVNamespace from @cloudflare/workers-types), richer than the
// adapters need, must be accepted.

type KvKey = readonly (Uint8Array | string | number | bigint | boolean | symbol)[]; // Deno.KvKey
declare const denoKv: {
  get<T = unknown>(key: KvKey, options?: { consistency?: "strong" | "eventual" }): Promise<{ key: unknown[]; value: T | null; versionstamp: string | null }>;
  getMany<T extends readonly unknown[]>(keys: readonly [...{ [K in keyof T]: KvKey }], options?: { consistency?: "strong" | "eventual" }): Promise<{ [K in keyof T]: { key: unknown[]; value: T[K] | null; versionstamp: string | null } }>;
  list<T = unknown>(selector: { prefix: KvKey } | { start: KvKey; end: KvKey }, options?: { limit?: number; cursor?: string; reverse?: boolean; batchSize?: number }): AsyncIterableIterator<{ key: KvKey; value: T; versionstamp: string }> & { readonly cursor: string };
  atomic(): DenoAtomic;
  close(): void;
};
interface DenoAtomic {
  check(...checks: { key: KvKey; versionstamp: string | null }[]): this;
  set(key: KvKey, value: unknown, options?: { expireIn?: number }): this;
  delete(key: KvKey): this;
  sum(key: readonly string[], n: bigint): this;
  commit(): Promise<{ ok: true; versionstamp: string } | { ok: false }>;
}
declare const doStorage: {
  get<T = unknown>(key: string, options?: { allowConcurrency?: boolean }): Promise<T | undefined>;
  get<T = unknown>(keys: string[], options?: { allowConcurrency?: boolean }): Promise<Map<string, T>>;
  put<T>(key: string, value: T, options?: { allowUnconfirmed?: boolean }): Promise<void>;
  put<T>(entries: Record<string, T>): Promise<void>;
  delete(key: string): Promise<boolean>;
  delete(keys: string[]): Promise<number>;
  list<T = unknown>(options?: { start?: string; startAfter?: string; end?: string; prefix?: string; reverse?: boolean; limit?: number }): Promise<Map<string, T>>;
  transaction<T>(closure: (txn: { get<V = unknown>(key: string): Promise<V | undefined>; put<V>(key: string, value: V): Promise<void>; rollback(): void }) => Promise<T>): Promise<T>;
  kv: {
    get<T = unknown>(key: string): T | undefined;
    put<T>(key: string, value: T): void;
    delete(key: string): boolean;
    list<T = unknown>(options?: { start?: string; end?: string; prefix?: string; reverse?: boolean; limit?: number }): Iterable<[string, T]>;
  };
  deleteAll(): Promise<void>;
};
declare const kvNamespace: {
  get(key: string, options?: { type: "text" }): Promise<string | null>;
  getWithMetadata<M = unknown>(key: string, options: { type: "text"; cacheTtl?: number }): Promise<{ value: string | null; metadata: M | null; cacheStatus: string | null }>;
  put(key: string, value: string | ArrayBuffer | ArrayBufferView, options?: { expiration?: number; expirationTtl?: number; metadata?: any | null }): Promise<void>;
  delete(key: string): Promise<void>;
  list<M = unknown>(options?: { limit?: number; prefix?: string | null; cursor?: string | null }): Promise<{ list_complete: false; keys: { name: string; expiration?: number; metadata?: M }[]; cursor: string; cacheStatus: string | null } | { list_complete: true; keys: { name: string; expiration?: number; metadata?: M }[]; cacheStatus: string | null }>;
};

export const runtimeStores: SessionStore[] = [denoKvStore(denoKv), denoKvStore(denoKv, { prefix: ["tenant", 7] }), durableObjectStore(doStorage), workersKvStore(kvNamespace)];
export const likes: [DenoKvLike, DurableObjectStorageLike, KVNamespaceLike] = [denoKv, doStorage, kvNamespace];
// @ts-expect-error — a KV namespace is not Durable Object storage.
durableObjectStore(kvNamespace);
// @ts-expect-error — nor is a Map a Deno KV.
denoKvStore(new Map());
// @ts-expect-error — prefix parts are Deno KV key parts.
denoKvStore(denoKv, { prefix: [{}] });

// ---------------------------------------------------------------------------------------------
// The conformance entry point.

export async function conform(store: SessionStore): Promise<boolean> {
  const report: ConformanceReport = await runStoreConformance(store, "ci");
  const names: string[] = storeConformanceCases().map((c) => `${c.name}: ${c.description}`);
  // @ts-expect-error — the namespace is a string.
  await runStoreConformance(store, 7);
  return report.failed.length === 0 && report.passed.length === names.length;
}

// ---------------------------------------------------------------------------------------------
// Every export and option bag.

export async function main(): Promise<void> {
  const key: PrivateJwk = generateSigningKey();
  const asJwk: Jwk = key;
  const kid: string = key.kid;

  const events: SessionEvent[] = [];
  let now = 1_700_000_000_000;
  const readonlyKeys: readonly PrivateJwk[] = [key];
  const options: AuthorityOptions = {
    issuer: "https://auth.example",
    audience: "api.example",
    signingKeys: readonlyKeys,
    store: new MemoryStore(),
    accessTokenTtl: 300,
    refreshIdleTtl: 1_209_600,
    refreshAbsoluteTtl: 2_592_000,
    graceWindow: 60,
    leaseTtl: 10,
    leeway: 30,
    renewalWindow: 60,
    clock: () => now,
    onEvent: (e) => {
      events.push(e);
      const type: "issued" | "renewed" | "retriedInGrace" | "leaseContended" | "replayDetected" | "rejected" | "revoked" | "loggedOut" = e.type;
      void type;
      void describeEvent(e);
    },
    claimsHook: async (session: SessionInfo, current: Claims): Promise<Claims> => ({ ...current, device: session.client.deviceId ?? null }),
  };
  const authority = new Authority(options);
  // Optional members accept undefined (exactOptionalPropertyTypes), as the runtime does.
  new Authority({ ...options, accessTokenTtl: undefined, clock: undefined, onEvent: undefined, claimsHook: undefined });
  await authority.issue({ subject: "u", claims: undefined, client: { userAgent: undefined, ip: "203.0.113.7" }, familyId: undefined });
  // A private JWK without kid (the runtime computes its thumbprint).
  const { kid: _kid, ...noKid } = key;
  void _kid;
  const input: PrivateJwkInput = noKid;
  new Authority({ ...options, signingKeys: [input] });
  authority.addSigningKey(noKid);
  new Authority({ issuer: "i", audience: "a", signingKeys: [key], store: new MapStore() });
  new Authority({ issuer: "i", audience: "a", signingKeys: [key], store: literalStore, claimsHook: (_s, c) => c });

  // @ts-expect-error — misspelled option name (accessTokenTTL).
  new Authority({ issuer: "i", audience: "a", signingKeys: [key], store: literalStore, accessTokenTTL: 300 });
  // @ts-expect-error — snake_case option name.
  new Authority({ issuer: "i", audience: "a", signingKeys: [key], store: literalStore, grace_window: 60 });
  // @ts-expect-error — durations are numbers of seconds, not strings.
  new Authority({ issuer: "i", audience: "a", signingKeys: [key], store: literalStore, leaseTtl: "10s" });
  // @ts-expect-error — signing keys must be private JWKs (a readonly array of them will do).
  new Authority({ issuer: "i", audience: "a", signingKeys: [{ kty: "OKP", crv: "Ed25519", x: key.x }], store: literalStore });
  // @ts-expect-error — a store must have list().
  new Authority({ issuer: "i", audience: "a", signingKeys: [key], store: { get: async () => null, set: async () => ({ ok: false as const }), delete: async () => {} } });
  // @ts-expect-error — a claims hook returns claims, not a number.
  new Authority({ issuer: "i", audience: "a", signingKeys: [key], store: literalStore, claimsHook: () => 42 });

  const client: ClientInfo = { userAgent: "Mozilla/5.0", ip: "203.0.113.7", deviceId: "laptop" };
  const request: IssueRequest = { subject: "user-42", claims: { role: "admin" }, client };
  const issued: IssuedSession = await authority.issue(request);
  await authority.issue({ subject: "user-42", familyId: issued.familyId });
  // @ts-expect-error — subject must be a string.
  await authority.issue({ subject: 42 });
  // @ts-expect-error — unknown request field.
  await authority.issue({ subject: "u", claim: {} });
  // Per-login lifetimes, in seconds; RFC 9068 claims the application may set.
  await authority.issue({ subject: "u", refreshIdleTtl: 3600, refreshAbsoluteTtl: 86_400, claims: { scope: "read", client_id: "cli" } });
  await authority.issue({ subject: "u", refreshIdleTtl: undefined, refreshAbsoluteTtl: undefined });
  // @ts-expect-error — lifetimes are numbers of seconds.
  await authority.issue({ subject: "u", refreshIdleTtl: "1h" });
  new Authority({ ...options, clientId: "web-app" });
  new Authority({ ...options, clientId: undefined });
  // @ts-expect-error — clientId is a string.
  new Authority({ ...options, clientId: 7 });

  // Logout by refresh token: narrow on outcome.
  const out: LogoutOutcome = await authority.logout(issued.refreshToken);
  switch (out.outcome) {
    case "loggedOut":
      void out.sessionId;
      break;
    case "replayDetected":
      void [out.sessionId, out.familyId];
      break;
    case "rejected": {
      const why: RejectReason = out.reason;
      if (why === "superseded") void why;
      break;
    }
    default: {
      const unreachable: never = out;
      void unreachable;
    }
  }
  // @ts-expect-error — a logout outcome has no tokens.
  void out.refreshToken;
  // @ts-expect-error — logout takes the refresh token, not a target.
  await authority.logout({ sessionId: issued.sessionId });
  const active: boolean = await authority.isActive(issued.sessionId);
  void active;

  const outcome = await authority.renew(issued.refreshToken);
  const text: string = handle(outcome);
  if (outcome.outcome === "renewed") {
    const again = await authority.renew(outcome.refreshToken);
    void handle(again);
  }

  const targets: RevokeTarget[] = [
    { sessionId: issued.sessionId },
    { sessionId: issued.sessionId, subject: "user-42" },
    { familyId: issued.familyId },
    { subject: "user-42" },
  ];
  for (const t of targets) {
    const found: boolean = await authority.revoke(t);
    void found;
  }
  // @ts-expect-error — not a revoke target.
  await authority.revoke({ session: issued.sessionId });
  // @ts-expect-error — a family with a session is not one target.
  await authority.revoke({ sessionId: issued.sessionId, familyId: issued.familyId });

  const page: SessionPage = await authority.listSessions("user-42");
  const sessions: SessionInfo[] = page.sessions;
  const nextCursor: string | null = page.cursor;
  const pageOptions: ListSessionsOptions = { limit: 50, cursor: nextCursor };
  await authority.listSessions("user-42", pageOptions);
  await authority.listSessions("user-42", { limit: undefined, cursor: undefined });
  for (let c: string | null = page.cursor; c !== null; ) {
    c = (await authority.listSessions("user-42", { cursor: c })).cursor;
  }
  // @ts-expect-error — listSessions resolves to a page, not an array (changed in 0.2).
  const asArray: SessionInfo[] = await authority.listSessions("user-42");
  void asArray;
  // @ts-expect-error — limit is a number.
  await authority.listSessions("user-42", { limit: "10" });
  for (const s of sessions) {
    const ua: string | undefined = s.client.userAgent;
    const times: number = s.createdAt + s.lastRenewedAt + s.idleExpiresAt + s.absoluteExpiresAt;
    void ua;
    void times;
  }

  const jwks: Jwks = authority.jwks();
  const firstKid: string | undefined = jwks.keys[0]?.kid;
  const published: PublicJwk[] = jwks.keys;
  void [firstKid, published];
  for (const k of jwks.keys) {
    const kidString: string = k.kid;
    void kidString;
  }
  const activeKid: string = authority.activeKid();
  const next = generateSigningKey();
  authority.addSigningKey(next);
  authority.activateKey(next.kid);
  authority.retireKey(activeKid);
  const { d: _private, ...publicJwk } = key;
  void _private;
  authority.addVerifyKey(publicJwk);
  // @ts-expect-error — addSigningKey needs a private key.
  authority.addSigningKey(publicJwk);
  const advice: "notNeeded" | "advised" | "required" = authority.renewalAdvice(issued.accessExpiresAt);
  // @ts-expect-error — not a possible advice.
  if (advice === "soon") now++;

  const verifierOptions: VerifierOptions = {
    issuer: "https://auth.example",
    audience: "api.example",
    jwks,
    leeway: 30,
    clock: () => now,
    maxTokenBytes: 8192,
  };
  const verifier = new Verifier(verifierOptions);
  const audiences: readonly string[] = ["api.example", "admin.example"];
  new Verifier({ ...verifierOptions, audience: audiences, maxTokenAge: 3600 });
  new Verifier({ ...verifierOptions, maxTokenAge: undefined });
  // @ts-expect-error — audiences are strings.
  new Verifier({ ...verifierOptions, audience: [1] });
  // @ts-expect-error — maxTokenAge is a number of seconds.
  new Verifier({ ...verifierOptions, maxTokenAge: "1h" });

  // Key tooling without an authority.
  const pub: PublicJwk = publicJwkOf(key);
  const set: Jwks = jwksOf([key, pub, noKid]);
  const readonlyJwks: Jwks = jwksOf(readonlyKeys);
  void [pub, set, readonlyJwks];
  // @ts-expect-error — jwks() takes an array of keys.
  jwksOf(key);
  // @ts-expect-error — a verifier never takes signing keys.
  new Verifier({ issuer: "i", audience: "a", jwks, signingKeys: [key] });
  try {
    const claims: AccessTokenClaims = verifier.verify(issued.accessToken);
    const sub: string = claims.sub;
    const aud: string | string[] = claims.aud;
    const exp: number = claims.exp;
    const custom: unknown = claims["role"];
    void [sub, aud, exp, custom];
    // verify<T>() types the application claims.
    const typed = verifier.verify<{ role: "admin" | "member"; tenant?: string }>(issued.accessToken);
    const role: "admin" | "member" = typed.role;
    const sid: string = typed.sid;
    // @ts-expect-error — not one of the declared application claims.
    void typed.rolez;
    void [role, sid];
  } catch (e) {
    void describeError(e);
  }
  verifier.free();

  // The memory store's extras.
  const mem = new MemoryStore();
  const size: number = mem.size;
  const purged: number = mem.purgeExpired(now);
  mem.purgeExpired();
  // @ts-expect-error — size is read-only.
  mem.size = 0;

  // Runtime adapters accept their runtime's handles (see runtimeStores above), not anything.
  // @ts-expect-error — an empty object is no Workers KV namespace.
  workersKvStore({});
  const stores: SessionStore[] = runtimeStores;

  authority.free();
  void [asJwk, kid, text, size, purged, stores, events];

  // The verifier-only entry point: the same Verifier API and claim types.
  const small = new SmallVerifier({ issuer: "https://auth.example", audience: "api", jwks: authority.jwks() });
  const smallClaims: SmallClaims = small.verify("token");
  // The JWKS may also be its JSON text (a Worker secret); any other type is refused.
  new SmallVerifier({ issuer: "https://auth.example", audience: "api", jwks: JSON.stringify(authority.jwks()) });
  // @ts-expect-error — jwks is neither an object nor a string.
  new Verifier({ issuer: "https://auth.example", audience: "api", jwks: 42 });
  const sameClaims: AccessTokenClaims = smallClaims;
  small.free();
  void [sameClaims, NoAuthority];
}

// ---------------------------------------------------------------------------------------------
// The key ring and the remote verifier.

export async function keyRingAndRemote(store: SessionStore): Promise<void> {
  const options: KeyRingAuthorityOptions = {
    issuer: "https://auth.example",
    audience: "api",
    keyRing: { masterSecret: "AAAA", rotationInterval: 30 * 86400, jwksMaxAge: 300 },
  };
  const authority = await Authority.withKeyRing(options, store);
  await Authority.withKeyRing({ ...options, store });
  // @ts-expect-error — a key ring authority has no signingKeys.
  await Authority.withKeyRing({ ...options, signingKeys: [] }, store);
  // @ts-expect-error — the master secret is base64url text, not bytes.
  await Authority.withKeyRing({ ...options, keyRing: { masterSecret: new Uint8Array(32) } }, store);
  const r: RotationOutcome = await authority.rotateKeys();
  const when: number | null = r.activatesAt;
  const published: string | null = r.published;
  await authority.refreshKeys();
  const due: boolean = authority.keysRefreshDue();
  const maxAge: number = authority.jwksMaxAge();
  const doc: Jwks = await authority.currentJwks();
  const delay: number | undefined = authority.keyRingSchedule()?.activationDelay;

  const memory = new Map<string, StoredJwks>();
  const cache: RemoteJwksCache = {
    get: async (k) => memory.get(k) ?? null,
    put: async (k, v) => void memory.set(k, v),
  };
  const remote: RemoteVerifier = createRemoteVerifier({
    issuer: "https://auth.example",
    audience: ["api", "admin"],
    jwksUrl: "https://auth.example/.well-known/jwks.json",
    timeoutMs: 2000,
    cooldown: 30,
    cache,
  });
  const claims: AccessTokenClaims<{ role: string }> = await remote.verify<{ role: string }>("token");
  const role: string = claims.role;
  // @ts-expect-error — verify is async: its result is a Promise, not the claims.
  const notAwaited: AccessTokenClaims = remote.verify("token");
  // @ts-expect-error — jwksUrl is required.
  createRemoteVerifier({ issuer: "i", audience: "a" });
  const small = createSmallRemote({ issuer: "i", audience: "a", jwksUrl: "https://a/jwks", fetch: async () => ({ status: 200, headers: { get: () => null }, body: null }) });
  const smallCache: SmallRemoteCache = cache;
  remote.free();
  void [when, published, due, maxAge, doc, delay, role, notAwaited, small, smallCache];
}
