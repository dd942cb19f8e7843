// The authority in a Durable Object, reached from the Worker through its RPC stub: the stub has
// the authority's async methods, so authRoutes({ authority: stub }) takes it as it is. Pass
// `DurableObject` from "cloudflare:workers" (this module imports nothing workerd-only). RPC
// keeps an error's message but drops its `code`; the layer reads it back (WebgatesError.from).

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
