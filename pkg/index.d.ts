// Type declarations for webgates-sessions. Times are epoch milliseconds unless a name says
// seconds; durations in options are seconds. Outcomes are values; failures throw (or reject
// with) an Error carrying a stable `code`.

/** Every `code` a thrown or rejected error can carry. */
export type ErrorCode =
  | "invalid_input"
  | "config_invalid"
  | "key_malformed_jwk"
  | "key_unsupported_kty"
  | "key_unsupported_crv"
  | "key_unsupported_alg"
  | "key_wrong_use"
  | "key_invalid_encoding"
  | "key_weak"
  | "key_mismatch"
  | "key_private_not_allowed"
  | "key_missing_private"
  | "key_duplicate_kid"
  | "key_invalid_kid"
  | "key_unknown_kid"
  | "key_no_signing_key"
  | "token_too_large"
  | "token_malformed"
  | "token_unsupported_alg"
  | "token_wrong_typ"
  | "token_missing_kid"
  | "token_unknown_kid"
  | "token_unsupported_crit"
  | "token_bad_signature"
  | "token_invalid_claims"
  | "token_wrong_issuer"
  | "token_wrong_audience"
  | "token_expired"
  | "token_not_yet_valid"
  | "store_unavailable"
  | "store_failed"
  | "store_corrupt_record"
  | "family_unavailable"
  | "random_unavailable"
  | "contention"
  | "hook_failed"
  | "instance_freed";

/** An Error thrown or rejected by this package. */
export interface WebgatesError extends Error {
  code: ErrorCode;
}

/** An Ed25519 JSON Web Key (RFC 8037). */
export interface Jwk {
  kty: "OKP";
  crv: "Ed25519";
  x: string;
  /** Private key; present only in private JWKs. */
  d?: string;
  kid?: string;
  alg?: "EdDSA";
  use?: "sig";
}

/** A private signing key as returned by {@link generateSigningKey}. */
export interface PrivateJwk extends Jwk {
  d: string;
  kid: string;
}

/** A JSON Web Key Set. */
export interface Jwks {
  keys: Jwk[];
}

/** What `set` may require of the key's current state. */
export type Expect = "absent" | "any" | { version: string };

/**
 * Any storage with per-key compare-and-set. Values are UTF-8 JSON strings; versions are opaque
 * strings that change on every write. `expiresAt` is only a garbage-collection hint.
 */
export interface SessionStore {
  get(key: string): MaybePromise<{ value: string; version: string } | null>;
  set(
    key: string,
    value: string,
    options: { expect: Expect; expiresAt?: number },
  ): MaybePromise<{ ok: true; version: string } | { ok: false }>;
  delete(key: string): MaybePromise<void>;
  list(prefix: string, options: { cursor?: string; limit: number }): MaybePromise<{ keys: string[]; cursor?: string | null }>;
  /**
   * The longest key, in bytes, the backend accepts (Workers KV: 512; at least 128). Subjects whose
   * escaped keys would be longer get keys made from their SHA-256 instead. Omit for no limit
   * (keys are at most 807 bytes).
   */
  readonly maxKeyBytes?: number;
}

/** A store method may answer synchronously (a value) or asynchronously (a Promise or thenable). */
export type MaybePromise<T> = T | PromiseLike<T>;

/** Client metadata shown when listing sessions. */
export interface ClientInfo {
  userAgent?: string;
  ip?: string;
  deviceId?: string;
}

/** Application claims: a JSON object; registered names (iss, sub, aud, exp, nbf, iat, jti, sid, ...) are refused. */
export type Claims = Record<string, unknown>;

/** A lifecycle event for audit logs. */
export interface SessionEvent {
  type: "issued" | "renewed" | "retriedInGrace" | "leaseContended" | "replayDetected" | "rejected" | "revoked";
  sessionId?: string;
  familyId?: string;
  subject?: string;
  generation?: number;
  retryAfterMs?: number;
  reason?: RejectReason;
}

/** A session as listed for its subject. */
export interface SessionInfo {
  sessionId: string;
  familyId: string;
  subject: string;
  createdAt: number;
  lastRenewedAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  client: ClientInfo;
}

export interface AuthorityOptions {
  /** `iss` of every access token. */
  issuer: string;
  /** `aud` of every access token. */
  audience: string;
  /** Private JWKs; the first signs, all verify. */
  signingKeys: PrivateJwk[];
  store: SessionStore;
  /** Seconds (default 300). */
  accessTokenTtl?: number;
  /** Seconds of inactivity before a session ends (default 1209600 = 14 days). */
  refreshIdleTtl?: number;
  /** Seconds a session may live at most; never extended (default 2592000 = 30 days). */
  refreshAbsoluteTtl?: number;
  /** Seconds the previous refresh token still yields the same successor (default 60). */
  graceWindow?: number;
  /** Seconds a renewal's lease blocks others (default 10). */
  leaseTtl?: number;
  /** Seconds of clock skew tolerated when verifying (default 30). */
  leeway?: number;
  /** Seconds before access-token expiry that renewal is advised (default 60). */
  renewalWindow?: number;
  /** Current time in epoch milliseconds (default `Date.now`). */
  clock?: () => number;
  /** Receives lifecycle events; exceptions are ignored. */
  onEvent?: (event: SessionEvent) => void;
  /** Recomputes claims at each rotation, under the session's lease. */
  claimsHook?: (session: SessionInfo, currentClaims: Claims) => Claims | Promise<Claims>;
}

export interface IssueRequest {
  subject: string;
  claims?: Claims;
  client?: ClientInfo;
  /** Join this existing family (same subject, not revoked). */
  familyId?: string;
}

export interface IssuedSession {
  accessToken: string;
  refreshToken: string;
  sessionId: string;
  familyId: string;
  subject: string;
  accessExpiresAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
}

export type RejectReason = "malformed" | "unknown" | "revoked" | "expired";

export interface Renewed extends IssuedSession {
  outcome: "renewed";
  generation: number;
  /** True when the previous token was presented inside the grace window. */
  retriedInGrace: boolean;
}

export type RenewOutcome =
  | Renewed
  | { outcome: "replayDetected"; sessionId: string; familyId: string }
  | { outcome: "rejected"; reason: RejectReason }
  | { outcome: "leaseHeld"; retryAfterMs: number };

export type RevokeTarget = { sessionId: string } | { familyId: string } | { subject: string };

export class Authority {
  constructor(options: AuthorityOptions);
  issue(request: IssueRequest): Promise<IssuedSession>;
  renew(refreshToken: string): Promise<RenewOutcome>;
  /** Resolves to whether anything was found to revoke. */
  revoke(target: RevokeTarget): Promise<boolean>;
  listSessions(subject: string): Promise<SessionInfo[]>;
  jwks(): Jwks;
  activeKid(): string;
  addSigningKey(jwk: PrivateJwk): void;
  addVerifyKey(jwk: Jwk): void;
  activateKey(kid: string): void;
  retireKey(kid: string): void;
  renewalAdvice(accessExpiresAt: number): "notNeeded" | "advised" | "required";
  /** Releases the wasm memory now instead of at garbage collection. */
  free(): void;
}

export interface VerifierOptions {
  issuer: string;
  audience: string;
  /** The published key set, as an object or as its JSON text (e.g. a Worker secret). */
  jwks: Jwks | string;
  /** Seconds (default 30, at most 300). */
  leeway?: number;
  /** Current time in epoch milliseconds (default `Date.now`). */
  clock?: () => number;
  /** Tokens longer than this are refused before parsing (default 8192). */
  maxTokenBytes?: number;
}

/** The payload of a verified access token, as `JSON.parse` reads it (times in seconds, as in the token). */
export interface AccessTokenClaims extends Claims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  nbf?: number;
  jti: string;
  sid: string;
}

export class Verifier {
  constructor(options: VerifierOptions);
  /** Returns the claims or throws a {@link WebgatesError}. */
  verify(accessToken: string): AccessTokenClaims;
  free(): void;
}

/** A new Ed25519 signing key (private JWK with kid = RFC 7638 thumbprint), from Web Crypto. */
export function generateSigningKey(): PrivateJwk;

/** In-process, linearizable store (tests, demos, single-process servers). */
export class MemoryStore implements SessionStore {
  get(key: string): Promise<{ value: string; version: string } | null>;
  set(key: string, value: string, options: { expect: Expect; expiresAt?: number }): Promise<{ ok: true; version: string } | { ok: false }>;
  delete(key: string): Promise<void>;
  list(prefix: string, options: { cursor?: string; limit: number }): Promise<{ keys: string[]; cursor?: string | null }>;
  readonly size: number;
  purgeExpired(now?: number): number;
}

/** Deno KV (`await Deno.openKv()`): linearizable CAS through versionstamps. */
export function denoKvStore(kv: unknown, options?: { prefix?: unknown[] }): SessionStore;

/** Durable Object storage (`state.storage`): linearizable inside the object. Recommended for the authority on Workers. */
export function durableObjectStore(storage: unknown): SessionStore;

/** What the SQL stores add to {@link SessionStore}: the batched read, migrations and a GC sweep. */
export interface SqlSessionStore extends SessionStore {
  /** The entries of `keys` in order (null where absent), in one round trip. */
  getMany(keys: string[]): Promise<({ value: string; version: string } | null)[]>;
  /** Creates or upgrades the table (versioned migrations, each in a transaction); resolves to the versions applied now. */
  migrate(): Promise<number[]>;
  /** Deletes rows whose expiry hint is at or before `now` (epoch ms, default Date.now()); resolves to how many. */
  purgeExpired(now?: number): Promise<number>;
}

/** Options of the SQL stores. `table`: 1-52 characters of `a-z0-9_`, default `"webgates_sessions"`. */
export interface SqlStoreOptions {
  table?: string;
}

/** The part of a Cloudflare D1 binding (`env.DB`) that {@link d1Store} uses. */
export interface D1DatabaseLike {
  prepare(query: string): unknown;
  batch(statements: unknown[]): Promise<unknown[]>;
}

/** The part of a node-postgres `pg.Pool` that {@link postgresStore} uses. */
export interface PgPoolLike {
  query(text: string, values?: unknown[]): Promise<{ rows: any[]; rowCount: number | null }>;
  connect(): Promise<{ query(text: string, values?: unknown[]): Promise<unknown>; release(err?: unknown): void }>;
}

/**
 * Cloudflare D1 (`env.DB`): linearizable, every compare-and-set one statement checked by its
 * changed-row count. Call `migrate()` once (or apply {@link d1Schema}). Pass `env.DB` itself, not
 * a read-replica session.
 */
export function d1Store(db: D1DatabaseLike, options?: SqlStoreOptions): SqlSessionStore;

/** The SQL `d1Store(db, options).migrate()` runs, for `wrangler d1 execute`. */
export function d1Schema(options?: SqlStoreOptions): string;

/**
 * PostgreSQL through a node-postgres `pg.Pool`: linearizable under READ COMMITTED, every
 * compare-and-set one statement checked by its row count. Call `migrate()` once (or apply
 * {@link postgresSchema}). Keys are `TEXT COLLATE "C"`, values `BYTEA`.
 */
export function postgresStore(pool: PgPoolLike, options?: SqlStoreOptions): SqlSessionStore;

/** The SQL `postgresStore(pool, options).migrate()` runs, for a migration tool of your own. */
export function postgresSchema(options?: SqlStoreOptions): string;

/**
 * Workers KV namespace — best effort only: no CAS, eventually consistent (~60 s), ~1 write/s per
 * key. Concurrent renewals may fork and replay may go undetected; prefer durableObjectStore.
 */
export function workersKvStore(namespace: unknown): SessionStore;
