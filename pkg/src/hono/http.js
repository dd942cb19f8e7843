// The HTTP vocabulary every route of the layer shares: JSON answers with `no-store` (H1.2), the
// refusals of docs/HTTP.md as HTTPExceptions (so Hono's error handler answers them), and the
// mapping of library errors to statuses (H4). Errors that crossed a Durable Object RPC call lost
// their `code`; WebgatesError.from reads it back from the message.
import { HTTPException } from "hono/http-exception";
import { WebgatesError } from "../errors.js";

/** A JSON response (H4.2 bodies) with `Cache-Control: no-store` (H1.2) and extra headers. */
export function json(status, body, headers = {}) {
  return new Response(body === null ? null : JSON.stringify(body), {
    status,
    headers: {
      ...(body === null ? {} : { "content-type": "application/json; charset=utf-8" }),
      "cache-control": "no-store",
      ...headers,
    },
  });
}

/** A refusal: thrown, answered by Hono's error handler with exactly this response. */
export function refusal(status, code, headers = {}) {
  return new HTTPException(status, { res: json(status, { error: code }, headers) });
}

/** The stable code of a library error (also after an RPC call), or null for any other error. */
export const codeOf = (err) => WebgatesError.from(err)?.code ?? null;

// Transient failures: nothing was committed, the presented refresh token stays valid (H4.1).
const TRANSIENT = new Set(["store_unavailable", "store_failed", "contention", "family_unavailable"]);

/** H4.1 / H4.3: a library error as its response; anything else as a 500 without details (H4.2). */
export function errorResponse(err) {
  if (err instanceof HTTPException) return err.getResponse();
  const code = codeOf(err);
  if (code === null) {
    console.error("webgates-sessions/hono: unexpected error", err?.name);
    return json(500, { error: "http_internal" });
  }
  if (TRANSIENT.has(code)) return json(503, { error: code }, { "retry-after": "1" });
  if (code === "invalid_input") return json(400, { error: code });
  console.error(`webgates-sessions/hono: ${code}`);
  return json(500, { error: code });
}

/** Runs a handler and answers any failure it throws per H4 (a refusal as itself). */
export const guarded = (handler) => async (c, next) => {
  try {
    return await handler(c, next);
  } catch (err) {
    return errorResponse(err);
  }
};

/** H1.1: every other method on a route → 405 with `Allow`. */
export const methodNotAllowed = (allow) => (c) =>
  json(405, { error: "http_method_not_allowed" }, { allow });
