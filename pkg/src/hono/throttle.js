// H7: login throttling and client addresses. A limiter is anything with
// `limit({ key }) → { success, retryAfter? }` (or a promise of it): the shape of the Workers
// rate-limiting binding, so `env.LOGIN_LIMITER` is passed as it is; `memoryLimiter()` is the
// in-process one for Node, Deno and Bun.
import { refusal } from "./http.js";

/**
 * H7.2: the client address from the configured trusted header only, else the socket peer
 * where the runtime gives one (Deno.serve's `info.remoteAddr`, Node's `incoming.socket`), else
 * null. Never a header the deployment did not name.
 */
export function clientAddress(c, trustedIpHeader) {
  if (trustedIpHeader) {
    const value = c.req.header(trustedIpHeader);
    // X-Forwarded-For: the last hop is the one the trusted proxy appended.
    const last = value?.split(",").at(-1)?.trim();
    return last ? last.slice(0, 64) : null;
  }
  const env = c.env;
  const peer = env?.remoteAddr?.hostname ?? env?.incoming?.socket?.remoteAddress;
  return typeof peer === "string" && peer !== "" ? peer.slice(0, 64) : null;
}

/**
 * H7.1: called by the login route before it checks the password. Counts one attempt for
 * `subject:<name>` and one for `ip:<addr>`; over the limit → throws the 429. No limiter, no limit.
 */
export async function loginThrottle(c, subject, { limiter, trustedIpHeader } = {}) {
  if (limiter == null) return;
  const keys = [`subject:${String(subject).slice(0, 256)}`];
  const ip = clientAddress(c, trustedIpHeader);
  if (ip !== null) keys.push(`ip:${ip}`);
  const results = await Promise.all(keys.map((key) => limiter.limit({ key })));
  const over = results.filter((r) => !r?.success);
  if (over.length > 0) {
    const retryAfter = Math.max(1, ...over.map((r) => Math.ceil(r.retryAfter ?? 60)));
    throw refusal(429, "http_rate_limited", { "retry-after": String(retryAfter) });
  }
}

/**
 * An in-process fixed-window limiter: `limit` attempts per key per `period` seconds (default 10
 * per minute, H7.1). One process only: behind several processes use a shared one.
 */
export function memoryLimiter({ limit = 10, period = 60, clock = Date.now } = {}) {
  const windows = new Map();
  return {
    limit({ key }) {
      const now = clock();
      let w = windows.get(key);
      if (w === undefined || now >= w.resetAt) {
        if (windows.size > 10_000) for (const [k, v] of windows) if (now >= v.resetAt) windows.delete(k);
        w = { count: 0, resetAt: now + period * 1000 };
        windows.set(key, w);
      }
      w.count += 1;
      return w.count <= limit ? { success: true } : { success: false, retryAfter: (w.resetAt - now) / 1000 };
    },
  };
}
