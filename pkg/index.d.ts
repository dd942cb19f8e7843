// Type declarations for webgates-sessions. Times are epoch milliseconds unless a name says
// seconds; durations in options are seconds. Outcomes are values; failures throw (or reject
// with) an Error carrying a stable `code`. Optional input members accept `undefined` (same as
// absent), so the types hold under `exactOptionalPropertyTypes`.

/**
 * Every `code` a thrown or rejected error can carry: the core's `Error::code()` values
 * (test/node/errors.test.js reads them from src/errors.rs and compares), plus one JS-only code.
 */
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
  | "jwks_unavailable"
  | "jwks_stale"
  | "jwks_too_large"
  | "jwks_malformed"
  | "jwks_no_usable_keys"
  | "jwks_bad_status"
  | "jwks_timeout"
  | "jwks_fetch_failed"
  | "keys_secret_too_short"
  | "keys_secret_too_long"
  | "keys_wrong_secret"
  | "keys_no_active_key"
  | "keys_ring_not_configured"
  | "keys_ring_managed"
  | "dpop_too_large"
  | "dpop_malformed"
  | "dpop_wrong_typ"
  | "dpop_unsupported_alg"
  | "dpop_unsupported_crit"
  | "dpop_invalid_jwk"
  | "dpop_private_jwk"
  | "dpop_invalid_claims"
  | "dpop_bad_signature"
  | "dpop_wrong_htm"
  | "dpop_wrong_htu"
  | "dpop_iat_in_future"
  | "dpop_iat_too_old"
  | "dpop_missing_nonce"
  | "dpop_wrong_nonce"
  | "dpop_wrong_ath"
  | "dpop_wrong_jkt"
  /** JS only (not a core code): a method of an Authority or Verifier called after free(). */
  | "instance_freed";

/**
 * An Error thrown or rejected by this package: a `TypeError` or `RangeError` for
 * `invalid_input` (wrong type or content / out of range), a `RangeError` for `config_invalid`,
 * an `Error` otherwise. Its message starts with its code (`"token_expired: ..."`).
 */
export interface WebgatesError extends Error {
  code: ErrorCode;
}

/**
 * Recovering errors of this package. A structured clone (`structuredClone`, `postMessage`) or a
 * Workers RPC call keeps an error's message and type but drops `code`; `from` reads it back from
 * the message.
 */
export const WebgatesError: {
  /** Every error code. */
  readonly codes: readonly ErrorCode[];
  /**
   * `error` with its `code` restored (on `error` itself, or on a copy of a frozen one), or `null`
   * if it is not an error of this package.
   */
  from(error: unknown): WebgatesError | null;
};

/** Whether `error` is an error of this package; restores a cloned error's `code` as {@link WebgatesError.from} does. */
export function isWebgatesError(error: unknown): error is WebgatesError;

/** An Ed25519 JSON Web Key (RFC 8037), as accepted. */
export interface Jwk {
  kty: "OKP";
  crv: "Ed25519";
  x: string;
  /** Private key; present only in private JWKs. */
  d?: string | undefined;
  kid?: string | undefined;
  alg?: "EdDSA" | undefined;
  use?: "sig" | undefined;
}

/** A private key as accepted by `signingKeys` and `addSigningKey`: `kid` may be omitted (the RFC 7638 thumbprint is used). */
export interface PrivateJwkInput extends Jwk {
  d: string;
}

/** A public key as published by `jwks()`: always with its `kid`. */
export interface PublicJwk {
  kty: "OKP";
  crv: "Ed25519";
  x: string;
  kid: string;
  alg: "EdDSA";
  use: "sig";
}

/** A private signing key as returned by {@link generateSigningKey}. */
export interface PrivateJwk extends PrivateJwkInput {
  kid: string;
  alg: "EdDSA";
  use: "sig";
}

/** The JSON Web Key Set `jwks()` returns. */
export interface Jwks {
  keys: PublicJwk[];
}

/** A JSON Web Key Set as accepted by `Verifier` (a published one, possibly from elsewhere). */
export interface JwksInput {
  readonly keys: readonly Jwk[];
}

/** One stored entry as `get` answers it. */
export interface StoreEntry {
  value: string;
  version: string;
}

/** What `set` may require of the key's current state. */
export type Expect = "absent" | "any" | { version: string };

/**
 * Any storage with per-key compare-and-set: the contract the authority relies on, checked by
 * `runStoreConformance` from `webgates-sessions/conformance`.
 *
 * - `set` is an atomic compare-and-set per key: `expect: "absent"` writes only a missing key,
 *   `{ version }` only the key at that version, `"any"` always; `{ ok: false }` when the
 *   expectation fails, and nothing is written then.
 * - Versions are opaque strings that change on every write, also when the same value is written
 *   again and when a key is deleted and created again (no ABA).
 * - `list(prefix, { cursor, limit })` yields the keys starting with `prefix` in ascending UTF-8
 *   byte order (SQL: `COLLATE "C"`; JS's `<` differs above U+FFFF, but keys are ASCII), at most
 *   `limit` per page, each after `cursor` (the previous page's `cursor`: an opaque string,
 *   often its last key). `cursor: null` (or absent) ends the listing; a page may be empty and
 *   still carry a cursor (KV-style list APIs), and the caller keeps paging.
 * - `expiresAt` (epoch ms) is only a garbage-collection hint: a store may drop the key after it,
 *   or never, and must not drop it before. Validity always comes from the records themselves.
 * - Keys are ASCII, at most 807 bytes (or `maxKeyBytes`). Values are UTF-8 JSON strings; a session
 *   record stays under 8 KiB (claims are at most 4 KiB), and the suite checks a 64 KiB value
 *   round-trips byte for byte.
 * - A throw or rejection becomes `store_unavailable` (transient: nothing was committed); a
 *   wrong-shaped result `store_failed`.
 */
export interface SessionStore {
  get(key: string): MaybePromise<{ value: string; version: string } | null>;
  /**
   * Optional batched read: one answer per key, in order, each what `get(key)` would answer (a
   * repeated key is answered each time). The authority reads several records in one call when
   * it is present, one `get` per key otherwise. A result that is not an array of that length, or
   * holds a wrong-shaped entry, is `store_failed`.
   */
  getMany?(keys: string[]): MaybePromise<readonly (StoreEntry | null)[]>;
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

/** Client metadata shown when listing sessions (UTF-8 bytes at most: 512, 64 and 128). */
export interface ClientInfo {
  userAgent?: string | undefined;
  ip?: string | undefined;
  deviceId?: string | undefined;
}

/**
 * Application claims: a JSON object; registered names (iss, sub, aud, exp, nbf, iat, jti, sid, ...)
 * are refused, except RFC 9068's `scope` (a string of space-separated scope tokens) and
 * `client_id` (a string), which the application may set.
 */
export type Claims = Record<string, unknown>;

/** A lifecycle event for audit logs, discriminated by `type`. */
export type SessionEvent =
  | { type: "issued"; sessionId: string; familyId: string; subject: string }
  | { type: "renewed"; sessionId: string; generation: number }
  | { type: "retriedInGrace"; sessionId: string }
  | { type: "leaseContended"; sessionId: string; retryAfterMs: number }
  | { type: "replayDetected"; sessionId: string; familyId: string; subject: string }
  /** `sessionId` is absent when the token did not name a session. */
  | { type: "rejected"; sessionId?: string; reason: RejectReason }
  | ({ type: "revoked" } & ({ sessionId: string; subject?: string } | { familyId: string } | { subject: string }))
  /** A session ended by `logout(refreshToken)`. */
  | { type: "loggedOut"; sessionId: string; subject: string };

/** Every event type. */
export type SessionEventType = SessionEvent["type"];

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
  /**
   * RFC 9068 `client_id` of every access token (default: the audience); a session may set its
   * own through the `client_id` application claim.
   */
  clientId?: string | undefined;
  /** Private JWKs (a readonly array will do); the first signs, all verify. */
  signingKeys: readonly PrivateJwkInput[];
  store: SessionStore;
  /** Whole seconds (default 300): tokens carry whole-second `exp`/`iat`, so a fraction is a RangeError. */
  accessTokenTtl?: number | undefined;
  /** Seconds of inactivity before a session ends (default 1209600 = 14 days). */
  refreshIdleTtl?: number | undefined;
  /** Seconds a session may live at most; never extended (default 2592000 = 30 days). */
  refreshAbsoluteTtl?: number | undefined;
  /** Seconds the previous refresh token still yields the same successor (default 60). */
  graceWindow?: number | undefined;
  /** Seconds a renewal's lease blocks others (default 10). */
  leaseTtl?: number | undefined;
  /** Whole seconds of clock skew tolerated when verifying (default 30). */
  leeway?: number | undefined;
  /** Seconds before access-token expiry that renewal is advised (default 60; at most `accessTokenTtl`, else `config_invalid`). */
  renewalWindow?: number | undefined;
  /** Current time in epoch milliseconds (default `Date.now`). */
  clock?: (() => number) | undefined;
  /** Receives lifecycle events; exceptions are ignored. */
  onEvent?: ((event: SessionEvent) => void) | undefined;
  /** Recomputes claims at each rotation, under the session's lease. */
  claimsHook?: ((session: SessionInfo, currentClaims: Claims) => Claims | PromiseLike<Claims>) | undefined;
}

export interface IssueRequest {
  subject: string;
  claims?: Claims | undefined;
  client?: ClientInfo | undefined;
  /** Join this existing family (same subject, not revoked). */
  familyId?: string | undefined;
  /**
   * This login's inactivity timeout in seconds ("remember me" off): longer than the grace window,
   * at most the authority's `refreshIdleTtl` (else a RangeError, `invalid_input`); kept by every
   * later rotation.
   */
  refreshIdleTtl?: number | undefined;
  /** This login's hard lifetime in seconds, at most the authority's `refreshAbsoluteTtl`; kept by every rotation. */
  refreshAbsoluteTtl?: number | undefined;
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

/**
 * Why a refresh token was refused. `superseded`: this very call saw the token current, but a
 * concurrent renewal rotated it twice meanwhile (not replay: nothing is revoked).
 */
export type RejectReason = "malformed" | "unknown" | "revoked" | "expired" | "superseded";

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

/**
 * What `logout(refreshToken)` came to: the session revoked (`loggedOut`), replay of a retired
 * token so the family revoked (`replayDetected`, as `renew` would), or nothing written
 * (`rejected`: malformed, unknown — a wrong secret for a real session id included —, revoked or
 * expired).
 */
export type LogoutOutcome =
  | { outcome: "loggedOut"; sessionId: string }
  | { outcome: "replayDetected"; sessionId: string; familyId: string }
  | { outcome: "rejected"; reason: RejectReason };

/**
 * What to revoke: one session, one session only if `subject` owns it, a family, or every session
 * of a subject ("log out everywhere").
 */
export type RevokeTarget =
  | { sessionId: string; subject?: string | undefined; familyId?: undefined }
  | { familyId: string; sessionId?: undefined; subject?: undefined }
  | { subject: string; sessionId?: undefined; familyId?: undefined };

/** Which page of `listSessions` to read. */
export interface ListSessionsOptions {
  /** Most sessions in the page: a whole number 1 to 1000 (default 100). */
  limit?: number | undefined;
  /** The previous page's `cursor`; absent or `null` for the first page. */
  cursor?: string | null | undefined;
}

/** One page of a subject's live sessions, newest first. */
export interface SessionPage {
  /** Possibly fewer than `limit`, even none, while `cursor` is not null. */
  sessions: SessionInfo[];
  /** Pass back as `cursor` for the next page; `null` when the listing is complete. */
  cursor: string | null;
}

/** Settings of a persisted key ring (durations in seconds). */
export interface KeyRingOptions {
  /**
   * The secret every instance derives the ring's keys from: unpadded base64url of 32 to 1024
   * bytes (e.g. `openssl rand 32 | basenc --base64url | tr -d =`), the same on every instance.
   */
  masterSecret: string;
  /** How long the newest key signs before a successor is published (default 30 days). */
  rotationInterval?: number | undefined;
  /** The JWKS endpoint's `Cache-Control: max-age` (default 300, 30 s to 1 day). */
  jwksMaxAge?: number | undefined;
  /** How long an instance uses its cached ring before reading the store again (default 60, 1 s to 1 h). */
  refreshInterval?: number | undefined;
  /** Allowance for clocks that disagree between instances (default 60, at most 1 h). */
  clockMargin?: number | undefined;
}

/** `AuthorityOptions` for {@link Authority.withKeyRing}: a key ring instead of `signingKeys`. */
export type KeyRingAuthorityOptions = Omit<AuthorityOptions, "signingKeys" | "store"> & {
  keyRing: KeyRingOptions;
  /** The store, here or as the second argument of `withKeyRing` (not both). */
  store?: SessionStore | undefined;
};

/** What one `rotateKeys()` call did and where the schedule stands (times in epoch ms). */
export interface RotationOutcome {
  /** Whether this call created the ring (its first key, active at once). */
  bootstrapped: boolean;
  /** The `kid` this call published, or `null` when the work was already done. */
  published: string | null;
  /** When the published key starts signing. */
  activatesAt: number | null;
  /** The `kid`s of retired keys this call dropped. */
  dropped: string[];
  /** The `kid` that signs now. */
  signingKid: string;
  /** When a later call will publish a successor. */
  nextRotationAt: number;
}

/** The delays a key ring's settings give (seconds). */
export interface KeyRingSchedule {
  /** From publishing a key to its signing: jwksMaxAge + refreshInterval + clockMargin. */
  activationDelay: number;
  /** From a successor's activation to the predecessor leaving the JWKS: access TTL + leeway + clockMargin. */
  retirementDelay: number;
  rotationInterval: number;
  clockMargin: number;
}

export class Authority {
  constructor(options: AuthorityOptions);
  /**
   * An authority whose signing keys live in a key ring in the store, derived from
   * `keyRing.masterSecret`: loaded, or created with one key on first use. Rejects with
   * `keys_wrong_secret` when the stored ring belongs to another secret, `keys_secret_too_short`
   * below 32 bytes, `config_invalid` for settings out of range.
   */
  static withKeyRing(options: KeyRingAuthorityOptions, store?: SessionStore): Promise<Authority>;
  /**
   * Advances the key ring's schedule from now (publish a successor, drop retired keys); safe to
   * call from many instances at once. Rejects `keys_ring_not_configured` with static keys.
   */
  rotateKeys(): Promise<RotationOutcome>;
  /** Reads the key ring from the store now (a no-op with static keys). */
  refreshKeys(): Promise<void>;
  /** Whether the cached ring is older than its refresh interval (`false` with static keys). */
  keysRefreshDue(): boolean;
  /** The `Cache-Control: max-age` (seconds) a JWKS endpoint sends. */
  jwksMaxAge(): number;
  /**
   * The JWKS to serve, after refreshing the ring when it is due: never older than the refresh
   * interval the schedule allows for. Serve it with `Cache-Control: max-age=${jwksMaxAge()}`.
   */
  currentJwks(): Promise<Jwks>;
  /** The ring's delays, or `null` with static keys. */
  keyRingSchedule(): KeyRingSchedule | null;
  issue(request: IssueRequest): Promise<IssuedSession>;
  renew(refreshToken: string): Promise<RenewOutcome>;
  /**
   * Ends the session the refresh token belongs to, without rotating: proof of possession, so
   * knowing a `sid` is not enough. Outcomes are values; store failures reject.
   */
  logout(refreshToken: string): Promise<LogoutOutcome>;
  /**
   * Resolves to whether this call revoked something live: for a session, `true` iff it existed
   * (and, with `subject`, belongs to that subject), was not already revoked and had not expired;
   * for a family, iff it existed, was live and not past its absolute expiry; for a subject, iff a
   * session of it was live before. A `revoked` event is emitted exactly when it is `true`.
   * `{ subject }` always cuts off every session existing when it resolves, whatever it answers.
   */
  revoke(target: RevokeTarget): Promise<boolean>;
  /** Whether the session is live now (exists, not expired, not revoked): one read, no write. */
  isActive(sessionId: string): Promise<boolean>;
  /**
   * One page of the subject's live sessions, newest first. Pass `cursor` back until it is `null`.
   * (Before 0.2 this resolved to an array capped at 1000: read `.sessions` now.)
   */
  listSessions(subject: string, page?: ListSessionsOptions): Promise<SessionPage>;
  jwks(): Jwks;
  activeKid(): string;
  addSigningKey(jwk: PrivateJwkInput): void;
  addVerifyKey(jwk: Jwk): void;
  activateKey(kid: string): void;
  retireKey(kid: string): void;
  /**
   * `accessExpiresAt` is epoch **milliseconds** (`accessExpiresAt` of `issue`/`renew`). A value
   * that is clearly seconds (a JWT's `exp`: within a day of now when multiplied by 1000, and
   * over a year in the past as milliseconds) throws a RangeError (`invalid_input`).
   */
  renewalAdvice(accessExpiresAt: number): "notNeeded" | "advised" | "required";
  /** Releases the wasm memory now instead of at garbage collection. */
  free(): void;
}

export interface VerifierOptions {
  issuer: string;
  /** The accepted audience, or several (1 to 64): `aud` must be, or contain, one of them. */
  audience: string | readonly string[];
  /** The published key set, as an object or as its JSON text (e.g. a Worker secret). */
  jwks: JwksInput | string;
  /** Whole seconds (default 30, at most 300). */
  leeway?: number | undefined;
  /** Current time in epoch milliseconds (default `Date.now`). */
  clock?: (() => number) | undefined;
  /** Tokens longer than this are refused before parsing (default 8192). */
  maxTokenBytes?: number | undefined;
  /**
   * Whole seconds: a token issued longer ago than this (plus the leeway) is refused as
   * `token_expired`, whatever its `exp` says (jose's `maxTokenAge`). Default: no bound.
   */
  maxTokenAge?: number | undefined;
}

/** The claims this library sets in every access token (times in seconds, as in the token). */
export interface RegisteredAccessClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  nbf?: number;
  jti: string;
  sid: string;
  /** RFC 9068: the authority's `clientId` (default its audience), or the session's own `client_id` claim. */
  client_id: string;
}

/**
 * The payload of a verified access token, as `JSON.parse` reads it: the registered claims and
 * the application's claims `T`. `T` is what the application put in `claims`; `verify` checks the
 * signature and the registered claims, not the shape of `T`.
 */
export type AccessTokenClaims<T extends object = Claims> = RegisteredAccessClaims & Omit<T, keyof RegisteredAccessClaims>;

export class Verifier {
  constructor(options: VerifierOptions);
  /** Returns the claims or throws a {@link WebgatesError}; `T` types the application claims. */
  verify<T extends object = Claims>(accessToken: string): AccessTokenClaims<T>;
  free(): void;
}

/** What `createRemoteVerifier` passes to `fetch` (a subset of `RequestInit`). */
export interface RemoteFetchInit {
  method: "GET";
  headers: Record<string, string>;
  /** An `AbortSignal`: aborted at `timeoutMs`, or once the body exceeds `maxBytes`. */
  signal: any;
}

/** What `createRemoteVerifier` reads of a `fetch` response (a `Response` will do). */
export interface RemoteFetchResponse {
  status: number;
  headers: { get(name: string): string | null };
  /** A `ReadableStream` of bytes, read until `maxBytes + 1` and then cancelled. */
  body: unknown;
}

/** A JWKS document as the remote verifier persists it. */
export interface StoredJwks {
  /** The document's text. */
  body: string;
  /** The response headers that set its lifetime and revalidation. */
  headers: { "cache-control": string | null; expires: string | null; etag: string | null };
  /** When it was fetched (epoch ms): its lifetime counts from here, not from when it is read. */
  fetchedAt: number;
}

/**
 * Where a remote verifier keeps the fetched document across isolates/processes: Workers KV, the
 * Cache API, Redis... `get` resolving `null` (or rejecting) is a miss; a rejected `put` is ignored.
 */
export interface RemoteJwksCache {
  get(key: string): Promise<StoredJwks | null>;
  put(key: string, value: StoredJwks): Promise<void>;
}

export interface RemoteVerifierOptions {
  issuer: string;
  /** The accepted audience, or several (1 to 64). */
  audience: string | readonly string[];
  /** The authority's JWKS URL (http or https). */
  jwksUrl: string;
  /** The fetch to use (default `globalThis.fetch`). */
  fetch?: ((input: string, init: RemoteFetchInit) => Promise<RemoteFetchResponse>) | undefined;
  /** Abort a fetch after this many ms (default 5000): `jwks_timeout`. */
  timeoutMs?: number | undefined;
  /** Seconds from one fetch to an unscheduled one (unknown `kid`, retry): default 30, 1 to 3600. */
  cooldown?: number | undefined;
  /** Seconds past a document's lifetime that its keys still verify while fetches fail (default 3600): then `jwks_stale`. */
  staleWindow?: number | undefined;
  /** Floor of the lifetime taken from `Cache-Control`/`Expires` (default 30 s). */
  minMaxAge?: number | undefined;
  /** Ceiling of that lifetime (default 1 day). */
  maxMaxAge?: number | undefined;
  /** Lifetime when the response says nothing (default 300 s). */
  defaultMaxAge?: number | undefined;
  /** Largest accepted document in bytes (default 65536, 1 KiB to 1 MiB): `jwks_too_large`. */
  maxBytes?: number | undefined;
  /** Persists the fetched document so a new isolate starts with keys instead of a fetch. */
  cache?: RemoteJwksCache | undefined;
  /** The key under which `cache` stores the document (default `webgates-jwks:${jwksUrl}`). */
  cacheKey?: string | undefined;
  /** Whole seconds (default 30, at most 300). */
  leeway?: number | undefined;
  /** Whole seconds: refuse tokens issued longer ago than this (`token_expired`). */
  maxTokenAge?: number | undefined;
  /** Tokens longer than this are refused before parsing (default 8192). */
  maxTokenBytes?: number | undefined;
  /** Current time in epoch milliseconds (default `Date.now`). */
  clock?: (() => number) | undefined;
}

/** A verifier over a remote JWKS that follows the authority's key rotation. */
export interface RemoteVerifier {
  /**
   * The claims, or a {@link WebgatesError} with `Verifier.verify`'s codes, plus `jwks_*` when no
   * usable document is at hand (`jwks_timeout`, `jwks_too_large`, `jwks_fetch_failed`,
   * `jwks_bad_status`, `jwks_malformed`, `jwks_no_usable_keys`, `jwks_stale`, `jwks_unavailable`).
   * An unknown `kid` refetches at most once per cooldown; no promise is shared between calls, so
   * it is safe across requests on Workers.
   */
  verify<T extends object = Claims>(accessToken: string): Promise<AccessTokenClaims<T>>;
  /** Releases the wasm memory now; later calls reject with `instance_freed`. */
  free(): void;
}

/** A verifier that fetches and caches the JWKS at `jwksUrl` (see the README's "Remote verifier"). */
export function createRemoteVerifier(options: RemoteVerifierOptions): RemoteVerifier;

/** A new Ed25519 signing key (private JWK with kid = RFC 7638 thumbprint), from Web Crypto. */
export function generateSigningKey(): PrivateJwk;

/**
 * The public JWK to publish for a private JWK (checked: `x` must match `d`; `kid` computed when
 * absent), or a public JWK as the library writes it. Throws a `key_*` error for a bad key.
 */
export function publicJwk(jwk: Jwk): PublicJwk;

/**
 * The JWKS publishing `keys` (private or public JWKs, e.g. a key file's), each one's public part
 * in order; nothing private is copied. Throws `key_duplicate_kid` for two keys with one `kid`.
 */
export function jwks(keys: readonly Jwk[]): Jwks;

/** In-process, linearizable store (tests, demos, single-process servers); `list` pages cost O(log n + limit). */
export class MemoryStore implements SessionStore {
  get(key: string): Promise<{ value: string; version: string } | null>;
  getMany(keys: string[]): Promise<(StoreEntry | null)[]>;
  set(key: string, value: string, options: { expect: Expect; expiresAt?: number }): Promise<{ ok: true; version: string } | { ok: false }>;
  delete(key: string): Promise<void>;
  list(prefix: string, options: { cursor?: string; limit: number }): Promise<{ keys: string[]; cursor?: string | null }>;
  readonly size: number;
  purgeExpired(now?: number): number;
}

/** A Deno KV key part (`Deno.KvKeyPart`). */
export type DenoKvKeyPart = Uint8Array | string | number | bigint | boolean | symbol;

/** A key part `denoKvStore` accepts in its `prefix` (Deno's, without `symbol`). */
export type DenoKvPrefixPart = Uint8Array | string | number | bigint | boolean;

/**
 * The part of `Deno.Kv` (`await Deno.openKv()`) that {@link denoKvStore} uses, structurally, so
 * no Deno types are needed at install; a `Deno.Kv` satisfies it.
 */
export interface DenoKvLike {
  get(key: readonly DenoKvKeyPart[]): Promise<{ value: unknown; versionstamp: string | null }>;
  getMany(keys: readonly (readonly DenoKvKeyPart[])[]): Promise<readonly { value: unknown; versionstamp: string | null }[]>;
  list(selector: { start: readonly DenoKvKeyPart[]; end: readonly DenoKvKeyPart[] }, options?: { cursor?: string; batchSize?: number }): AsyncIterable<{ key: readonly DenoKvKeyPart[] }> & { readonly cursor: string };
  atomic(): DenoKvAtomicLike;
}

/** The part of `Deno.AtomicOperation` that {@link denoKvStore} uses. */
export interface DenoKvAtomicLike {
  check(...checks: { key: readonly DenoKvKeyPart[]; versionstamp: string | null }[]): this;
  set(key: readonly DenoKvKeyPart[], value: unknown, options?: { expireIn?: number }): this;
  delete(key: readonly DenoKvKeyPart[]): this;
  commit(): Promise<{ ok: true; versionstamp: string } | { ok: false }>;
}

/** Deno KV (`await Deno.openKv()`): linearizable CAS through versionstamps. */
export function denoKvStore(kv: DenoKvLike, options?: { prefix?: readonly DenoKvPrefixPart[] | undefined }): SessionStore;

/**
 * The part of a Durable Object's `DurableObjectStorage` (`ctx.storage`) that
 * {@link durableObjectStore} uses, structurally (no @cloudflare/workers-types needed); the
 * runtime's object satisfies it. `kv` is the synchronous API of SQLite-backed objects.
 */
export interface DurableObjectStorageLike {
  get(key: string): Promise<unknown>;
  /** The batched read (up to 128 keys): a Map of the keys found. */
  get(keys: string[]): Promise<Map<string, unknown>>;
  put(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<boolean>;
  list(options?: { prefix?: string; startAfter?: string; limit?: number }): Promise<Map<string, unknown>>;
  transaction?<T>(closure: (txn: { get(key: string): Promise<unknown>; put(key: string, value: unknown): Promise<void> }) => Promise<T>): Promise<T>;
  readonly kv?: {
    get(key: string): unknown;
    put(key: string, value: unknown): void;
    delete(key: string): boolean;
    list(options?: { prefix?: string; start?: string; limit?: number }): Iterable<[string, unknown]>;
  };
}

/** Durable Object storage (`state.storage`): linearizable inside the object. Recommended for the authority on Workers. */
export function durableObjectStore(storage: DurableObjectStorageLike): SessionStore;

/** The part of a Workers KV binding (`KVNamespace`) that {@link workersKvStore} uses, structurally. */
export interface KVNamespaceLike {
  getWithMetadata(key: string, options: { type: "text" }): Promise<{ value: string | null; metadata: unknown }>;
  put(key: string, value: string, options?: { expiration?: number; metadata?: unknown }): Promise<void>;
  delete(key: string): Promise<void>;
  list(options?: { prefix?: string | null; cursor?: string | null; limit?: number }): Promise<{ keys: { name: string }[]; list_complete: boolean; cursor?: string }>;
}

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
export function workersKvStore(namespace: KVNamespaceLike): SessionStore;
