// Serves a Hono app over a real node:http socket (no @hono/node-server): the request body is
// streamed into the Request (so the layer's byte cap is what stops a large one), and the
// IncomingMessage is passed as `c.env.incoming`, where the layer reads the socket peer (H7.2).
// Also the demo application of the examples, on an in-process Authority, for the Node tests.
import { createServer } from "node:http";
import { Readable } from "node:stream";
import { Hono } from "hono";
import { Authority, MemoryStore, Verifier, generateSigningKey } from "../../dist/node.js";
import { authRoutes, issueSession, loginBody, loginThrottle, memoryLimiter, requireAuth } from "../../src/hono/index.js";

/** Listens on 127.0.0.1 on a free port and serves `makeApp(url)`; resolves to { url, close }. */
export async function serve(makeApp) {
  let app;
  const server = createServer(async (req, res) => {
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method,
      headers,
      body: hasBody ? Readable.toWeb(req) : undefined,
      duplex: hasBody ? "half" : undefined,
    });
    try {
      const response = await app.fetch(request, { incoming: req });
      const out = {};
      response.headers.forEach((v, k) => {
        if (k !== "set-cookie") out[k] = v;
      });
      const cookies = response.headers.getSetCookie();
      if (cookies.length) out["set-cookie"] = cookies;
      // A body the layer refused unread (H3.3): answer, then close the connection.
      if (hasBody && !req.complete) out.connection = "close";
      res.writeHead(response.status, out);
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch {
      res.writeHead(500).end();
    }
  });
  await new Promise((done) => server.listen(0, "127.0.0.1", done));
  const url = `http://127.0.0.1:${server.address().port}`;
  app = makeApp(url);
  return { url, close: () => new Promise((done) => server.close(done)), server };
}

export const USERS = { alice: "correct-horse", bob: "battery-staple" };

/** The examples' application on Node: the auth routes, a throttled login and GET /me. */
export function demoApp({ origin, insecure = true, authority, limiter = memoryLimiter() } = {}) {
  const issuer = "https://auth.node.test";
  const audience = "api.node.test";
  authority ??= new Authority({ issuer, audience, signingKeys: [generateSigningKey()], store: new MemoryStore() });
  const verifier = new Verifier({ issuer, audience, jwks: authority.jwks() });
  const auth = authRoutes({ authority, verifier, origin, insecure, realm: issuer });
  const app = new Hono();
  app.route("/", auth);
  app.post("/auth/login", async (c) => {
    const { username, password } = await loginBody(c, { auth });
    await loginThrottle(c, username, { limiter });
    if (USERS[username] === undefined || USERS[username] !== password) return c.json({ error: "http_invalid_credentials" }, 401, { "cache-control": "no-store" });
    return issueSession(c, username, { auth });
  });
  app.get("/me", requireAuth({ verifier, realm: issuer }), (c) => c.json({ claims: c.var.claims }));
  return { app, authority, verifier, auth };
}
