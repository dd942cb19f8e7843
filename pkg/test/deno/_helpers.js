// Shared by the Deno tests (not a test file itself: the name does not match *.test.js).
import { Authority, generateSigningKey } from "../../dist/deno.js";

export const ISSUER = "https://auth.example.test";
export const AUDIENCE = "https://api.example.test";
// A fixed start for injected clocks (2031-01-01), ahead of real time so that expiry hints become
// expireIn on every write and the authority's timestamps never depend on when the tests run.
export const T0 = Date.UTC(2031, 0, 1);

/** `str` with the character at `i` changed ("A" <-> "B"): in a token segment, always a different,
 * well-formed base64url character. */
export const flipChar = (str, i) => str.slice(0, i) + (str[i] === "A" ? "B" : "A") + str.slice(i + 1);

/** The token with its signature's first character changed: always a different, well-formed
 * signature (that character carries 6 bits of R; the last ones may carry padding bits). */
export const tamperSignature = (token) => flipChar(token, token.lastIndexOf(".") + 1);

/** Runs `fn(kv)` against a fresh in-memory Deno KV and always closes it. */
export async function withKv(fn) {
  const kv = await Deno.openKv(":memory:");
  try {
    return await fn(kv);
  } finally {
    kv.close();
  }
}

/** A clock the test advances by hand: `clock()` reads it, `clock.advance(ms)` moves it. */
export function manualClock(start = T0) {
  let now = start;
  const clock = () => now;
  clock.advance = (ms) => {
    now += ms;
    return now;
  };
  clock.set = (ms) => {
    now = ms;
  };
  return clock;
}

/** An Authority on `store` with a recorded event list; `options` override the defaults. */
export function makeAuthority(store, options = {}) {
  const events = [];
  const authority = new Authority({
    issuer: ISSUER,
    audience: AUDIENCE,
    signingKeys: [generateSigningKey()],
    store,
    onEvent: (e) => events.push(e),
    ...options,
  });
  return { authority, events, count: (type) => events.filter((e) => e.type === type).length };
}

/** Awaits `promise` and returns what it rejected with; fails if it resolved. */
export async function rejection(promise) {
  try {
    const value = await promise;
    throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
  } catch (e) {
    if (e instanceof Error && e.message.startsWith("expected a rejection")) throw e;
    return e;
  }
}
