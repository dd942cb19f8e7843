// webgates-sessions/hono on Deno: the Deno example (examples/deno/server.js: Hono on Deno.serve,
// sessions in a real in-memory Deno KV) over a real socket, checked by the shared walkthrough
// (every rule of docs/HTTP.md; the socket peer is the throttle's address, H7.2), then the secure
// defaults through app.request().
import assert from "node:assert/strict";
import { generateSigningKey } from "../../dist/deno.js";
import { createApp } from "../../../examples/deno/server.js";
import { walkthrough } from "../../../scripts/walkthrough.mjs";
import { withKv } from "./_helpers.js";

Deno.test("the Deno example holds every rule of docs/HTTP.md over Deno.serve", () =>
  withKv(async (kv) => {
    let app;
    const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (req, info) => app.fetch(req, info));
    const url = `http://127.0.0.1:${server.addr.port}`;
    app = createApp({ kv, signingKey: generateSigningKey(), origin: url, insecure: true });
    try {
      const log = [];
      const failures = await walkthrough(url, { insecure: true, log: (l) => log.push(l) });
      assert.deepEqual(failures, [], log.join("\n"));
    } finally {
      await server.shutdown();
    }
  }));

Deno.test("H2.1/H2.2: served over https the Deno example sets __Secure-wg_refresh with Secure", () =>
  withKv(async (kv) => {
    const app = createApp({ kv, signingKey: generateSigningKey(), origin: "https://app.test" });
    const res = await app.request("https://auth.test/auth/login", {
      method: "POST",
      headers: { origin: "https://app.test", "content-type": "application/json" },
      body: JSON.stringify({ username: "bob", password: "battery-staple" }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("set-cookie"), /^__Secure-wg_refresh=[^;]+; HttpOnly; Secure; SameSite=Strict; Path=\/auth; Max-Age=\d+$/);
    assert.equal((await res.json()).token_type, "Bearer");
  }));
