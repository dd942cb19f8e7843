// The authority in a Durable Object, reached from the Worker through its RPC stub: the stub has
// the authority's async methods, so authRoutes({ authority: stub }) takes it as it is. Pass
// `DurableObject` from "cloudflare:workers" (this module imports nothing workerd-only). RPC
// keeps an error's message but drops its `code`; the layer reads it back (WebgatesError.from).
import { memoryLimiter } from "./throttle.js";

/**
 * A Durable Object class (extend it and export it) whose RPC methods are the authority's:
 * `create(ctx, env)` builds the Authority once per instance, on the object's storage.
 */
export function authorityObject(DurableObject, create) {
  return class AuthorityObject extends DurableObject {
    #authority;

    constructor(ctx, env) {
      super(ctx, env);
      this.#authority = create(ctx, env);
    }

    issue(request) {
      return this.#authority.issue(request);
    }
    renew(refreshToken) {
      return this.#authority.renew(refreshToken);
    }
    logout(refreshToken) {
      return this.#authority.logout(refreshToken);
    }
    revoke(target) {
      return this.#authority.revoke(target);
    }
    isActive(sessionId) {
      return this.#authority.isActive(sessionId);
    }
    listSessions(subject, page) {
      return this.#authority.listSessions(subject, page);
    }
    jwks() {
      return this.#authority.jwks();
    }
    /** The key schedule's max-age when the authority has one (issue 13), else 300 s. */
    jwksMaxAge() {
      return this.#authority.jwksMaxAge?.() ?? 300;
    }
    keysRefreshDue() {
      return this.#authority.keysRefreshDue?.() ?? false;
    }
    refreshKeys() {
      return this.#authority.refreshKeys?.();
    }
  };
}

/**
 * H7.1 on the edge, exactly: a Durable Object class counting login attempts per key in memory
 * (`limit` per `period` seconds), one object per key through {@link durableObjectLimiter}. An
 * evicted object forgets its counts, which only an idle key lets happen. The Workers
 * rate-limiting binding is the cheaper, approximate alternative (its `limit` is the same shape).
 */
export function limiterObject(DurableObject, { limit = 10, period = 60 } = {}) {
  return class LimiterObject extends DurableObject {
    #limiter = memoryLimiter({ limit, period });

    limit(options) {
      return this.#limiter.limit(options);
    }
  };
}

/** The limiter for `loginThrottle` over a namespace of {@link limiterObject}: one object per key. */
export function durableObjectLimiter(namespace) {
  return { limit: ({ key }) => namespace.get(namespace.idFromName(key)).limit({ key }) };
}
