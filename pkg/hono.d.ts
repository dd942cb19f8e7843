// Types of `webgates-sessions/hono`: the HTTP contract of docs/HTTP.md (H1–H8) for Hono. Hono is
// a peer dependency; the authority and verifier come from the package's main entry point (or a
// Durable Object stub, or a remote verifier).
import type { Context, Hono, MiddlewareHandler } from "hono";
import type {
  AccessTokenClaims,
  Claims,
  ClientInfo,
  IssueRequest,
  IssuedSession,
  Jwks,
  ListSessionsOptions,
  LogoutOutcome,
  MaybePromise,
  RenewOutcome,
  RevokeTarget,
  SessionPage,
} from "./index.js";

/**
 * What the routes need of an authority: an in-process `Authority`, or anything with the same
 * async methods (a Durable Object RPC stub, see {@link authorityObject}). The key-ring methods
 * are used when present (H1.3).
 */
export interface AuthorityLike {
  issue(request: IssueRequest): PromiseLike<IssuedSession>;
  renew(refreshToken: string): PromiseLike<RenewOutcome>;
  logout(refreshToken: string): PromiseLike<LogoutOutcome>;
  revoke(target: RevokeTarget): PromiseLike<boolean>;
  isActive(sessionId: string): PromiseLike<boolean>;
  listSessions(subject: string, page?: ListSessionsOptions): PromiseLike<SessionPage>;
  jwks(): MaybePromise<Jwks>;
  /** Seconds the JWKS may be cached (the key schedule's); 300 when absent. */
  jwksMaxAge?(): MaybePromise<number>;
  keysRefreshDue?(): MaybePromise<boolean>;
  refreshKeys?(): MaybePromise<unknown>;
}

/** A `Verifier`, a remote verifier, or anything with `verify(token)` → claims (or a promise). */
export interface VerifierLike {
  verify(accessToken: string): MaybePromise<AccessTokenClaims>;
}

/** H2.2: the refresh cookie. */
export interface CookieOptions {
  /** Default `__Secure-wg_refresh` (`__Host-wg_refresh` with `host`, `wg_refresh` with `insecure`). */
  name?: string | undefined;
  /** Default `"Strict"`; never `"None"`. */
  sameSite?: "Strict" | "Lax" | undefined;
  /** `__Host-` prefix and `Path=/` (the token then travels with every request to the origin). */
  host?: boolean | undefined;
  /** For http:// development servers: drops `Secure` and allows a name without a prefix. */
  insecure?: boolean | undefined;
}

export interface AuthRoutesOptions {
  /** The authority, or a function of the request context to one (a Durable Object stub per request). */
  authority: AuthorityLike | ((c: Context) => AuthorityLike);
  /** H3.2: the origin (scheme, host, port) cookie routes accept requests from, or several. */
  origin: string | readonly string[];
  /** Verifies bearer tokens on B/sessions*; default: the authority's own `verify`, if it has one. */
  verifier?: VerifierLike | undefined;
  /** Default `/auth`. */
  base?: string | undefined;
  cookie?: CookieOptions | undefined;
  /** Same as `cookie.insecure`. */
  insecure?: boolean | undefined;
  /** H3.3: bytes, default 4096. */
  bodyLimit?: number | undefined;
  /** H5.1: the `WWW-Authenticate` realm, default `webgates`. */
  realm?: string | undefined;
  /** H7.2: the header naming the client address (e.g. `CF-Connecting-IP`); default the socket peer. */
  trustedIpHeader?: string | undefined;
  /** Epoch milliseconds, for `Max-Age` and `expires_in` (default `Date.now`). */
  clock?: (() => number) | undefined;
}

/** The sub-app of H1; pass it as `auth` to {@link issueSession} and {@link loginBody}. */
export type AuthRoutes = Hono;

/** H1: `POST B/refresh`, `POST B/logout`, `GET B/sessions`, `DELETE B/sessions/:id`, `GET /.well-known/jwks.json`. */
export function authRoutes(options: AuthRoutesOptions): AuthRoutes;

export interface IssueSessionOptions {
  auth: AuthRoutes;
  claims?: Claims | undefined;
  /** Merged over the user agent and the trusted client address. */
  client?: ClientInfo | undefined;
  refreshIdleTtl?: number | undefined;
  refreshAbsoluteTtl?: number | undefined;
}

/** Issues a session for the checked `subject`: the H4.1 token response with the cookie set. */
export function issueSession(c: Context, subject: string, options: IssueSessionOptions): Promise<Response>;

/** H3.2–H3.4 for the login route: CSRF, the capped read, a JSON object. Throws the refusal (an HTTPException). */
export function loginBody(c: Context, options: { auth: AuthRoutes }): Promise<Record<string, unknown>>;

/** The shape of the Workers rate-limiting binding: `env.LOGIN_LIMITER` is one as it is. */
export interface RateLimiter {
  limit(options: { key: string }): MaybePromise<{ success: boolean; retryAfter?: number | undefined }>;
}

/** H7.1: counts `subject:<name>` and `ip:<addr>`; over the limit throws the 429 (an HTTPException). */
export function loginThrottle(
  c: Context,
  subject: string,
  options?: { limiter?: RateLimiter | null | undefined; trustedIpHeader?: string | undefined },
): Promise<void>;

/** An in-process fixed-window limiter (default 10 per key per 60 s). */
export function memoryLimiter(options?: { limit?: number | undefined; period?: number | undefined; clock?: (() => number) | undefined }): RateLimiter;

/** H7.2: the client address from the trusted header, else the socket peer, else null. */
export function clientAddress(c: Context, trustedIpHeader?: string | undefined): string | null;

/**
 * H5: verifies the bearer token; the claims on `c.var.claims`. `T` types the application claims
 * (as `Verifier.verify<T>` does: the signature is checked, not the shape of `T`).
 */
export function requireAuth<T extends object = Claims>(options: {
  verifier: VerifierLike;
  realm?: string | undefined;
}): MiddlewareHandler<{ Variables: { claims: AccessTokenClaims<T> } }>;

/**
 * A Durable Object class whose RPC methods are the authority's: pass `DurableObject` from
 * "cloudflare:workers" and a factory building the Authority on the object's storage.
 */
export function authorityObject<Ctx, Env>(
  DurableObject: abstract new (ctx: Ctx, env: Env) => object,
  create: (ctx: Ctx, env: Env) => AuthorityLike,
): new (ctx: Ctx, env: Env) => AuthorityLike & { jwksMaxAge(): MaybePromise<number> };

/**
 * H7.1 exactly on the edge: a Durable Object class counting attempts per key in memory (default 10
 * per 60 s); bind it and pass {@link durableObjectLimiter} of its namespace to `loginThrottle`.
 */
export function limiterObject<Ctx, Env>(
  DurableObject: abstract new (ctx: Ctx, env: Env) => object,
  options?: { limit?: number | undefined; period?: number | undefined },
): new (ctx: Ctx, env: Env) => RateLimiter;

/** A Durable Object namespace's shape as `durableObjectLimiter` uses it. */
export interface LimiterNamespace {
  idFromName(name: string): unknown;
  get(id: never): RateLimiter;
}

/** The limiter over a namespace of {@link limiterObject}: one object per key. */
export function durableObjectLimiter(namespace: LimiterNamespace): RateLimiter;
