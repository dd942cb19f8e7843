// The no-auth baseline for worker-bench.mjs: the same routes and the same topology as
// examples/worker/worker.js (GET /me answered by the Worker; /auth/* forwarded to one Durable
// Object), with responses of about the same size and the same headers, but no auth work: no
// signature, no verification, no password check, no storage. Subtracting its latency from the
// example Worker's isolates what the library and its storage calls cost per request.
//
//   GET  /me            → {claims: {...}} like a verified token's claims
//   POST /auth/login    → reads the JSON body; DO returns {accessToken, expiresAt} + a refresh cookie
//   POST /auth/refresh  → reads the cookie;    DO returns {accessToken, expiresAt} + a refresh cookie
//   POST /direct/login  → the login response straight from the Worker (no DO hop), to size that hop

// A token-shaped string as long as the example's access tokens (452 characters) and refresh
// tokens (87 characters); constant, so nothing is signed or generated per request.
const ACCESS = "eyJ" + "a".repeat(449);
const REFRESH = "wgrt1." + "b".repeat(81);
const CLAIMS = {
  aud: "webgates-demo",
  exp: 1700000300,
  iat: 1700000000,
  iss: "https://auth.webgates.example",
  jti: "00000000-0000-4000-8000-000000000000",
  sid: "00000000-0000-4000-8000-000000000001",
  sub: "alice",
};

function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

const cookie = () => `wg_refresh=${REFRESH}; HttpOnly; Secure; SameSite=Strict; Path=/auth; Max-Age=2591999`;

async function tokenResponse(request) {
  const { pathname } = new URL(request.url);
  if (pathname.endsWith("/login")) JSON.parse(await request.text()); // the example reads the body too
  else request.headers.get("cookie");
  return json(200, { accessToken: ACCESS, expiresAt: Date.now() + 300_000 }, { "set-cookie": cookie() });
}

export class BaselineAuthority {
  async fetch(request) {
    return tokenResponse(request);
  }
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === "/me" && request.method === "GET") {
      request.headers.get("authorization");
      return json(200, { claims: CLAIMS });
    }
    if (pathname.startsWith("/auth/") && request.method === "POST") {
      return env.AUTHORITY.get(env.AUTHORITY.idFromName("authority")).fetch(request);
    }
    if (pathname === "/direct/login" && request.method === "POST") return tokenResponse(request);
    return json(404, { error: "not_found" });
  },
};
