// A real local HTTP server serving a JWKS, for the remote-verifier tests and benchmarks (not a
// test file itself). It counts requests and can be switched to fail in the ways a JWKS endpoint
// fails: down (connection reset), slow (headers after a delay), huge (10 MiB, with or without
// Content-Length), or an error status. A huge response records how much was written before the
// client closed the connection.
import http from "node:http";

/**
 * Starts the server on 127.0.0.1; `serve()` returns `{ body, headers }` of the document (it may
 * be async, e.g. `authority.currentJwks()`).
 */
export async function jwksServer(serve) {
  const state = {
    mode: "ok",
    delayMs: 0,
    requests: 0,
    /** Requests carrying If-None-Match, and the 304s answered. */
    conditional: 0,
    notModified: 0,
    /** For a huge response: bytes written and whether it finished before the client closed. */
    huge: null,
  };
  const sockets = new Set();
  const server = http.createServer(async (req, res) => {
    state.requests++;
    const mode = state.mode;
    if (mode === "down") {
      req.socket.destroy();
      return;
    }
    if (mode === "status") {
      res.writeHead(503, { "content-type": "text/plain" }).end("unavailable");
      return;
    }
    if (mode === "slow") {
      await new Promise((r) => setTimeout(r, state.delayMs));
      if (res.destroyed) return;
    }
    if (mode === "huge" || mode === "huge-chunked") {
      const total = 10 * 1024 * 1024;
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const record = { written: 0, finished: false, closedEarly: false, total };
      state.huge = record;
      const headers = { "content-type": "application/json" };
      if (mode === "huge") headers["content-length"] = String(total);
      res.writeHead(200, headers);
      res.on("close", () => {
        record.closedEarly = !res.writableFinished;
      });
      res.on("finish", () => {
        record.finished = true;
      });
      while (record.written < total && !res.destroyed) {
        const ok = res.write(chunk);
        record.written += chunk.length;
        if (!ok) {
          await new Promise((resolve) => {
            const done = () => {
              res.off("drain", done);
              res.off("close", done);
              resolve();
            };
            res.on("drain", done);
            res.on("close", done);
          });
        }
      }
      if (!res.destroyed) res.end();
      return;
    }
    const { body, headers = {} } = await serve();
    const text = typeof body === "string" ? body : JSON.stringify(body);
    const etag = headers.etag;
    if (req.headers["if-none-match"] !== undefined) state.conditional++;
    if (etag !== undefined && req.headers["if-none-match"] === etag) {
      state.notModified++;
      res.writeHead(304, headers).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/jwk-set+json", ...headers }).end(text);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    state,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** `token` with its header's `kid` replaced (the signature no longer matches; the kid is unknown). */
export function withKid(token, kid) {
  const [h, p, s] = token.split(".");
  const header = JSON.parse(Buffer.from(h, "base64url").toString());
  header.kid = kid;
  return `${Buffer.from(JSON.stringify(header)).toString("base64url")}.${p}.${s}`;
}
