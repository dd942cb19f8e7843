// webgates-sessions/hono in workerd: the example Worker (examples/worker/worker.js: the routes in
// the Worker, the authority in a Durable Object reached through its RPC stub, the login throttled
// by the Workers rate-limiting binding) over a real socket, checked by the shared walkthrough
// (every rule of docs/HTTP.md); then the secure defaults and an outcome through the stub.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Miniflare } from "miniflare";
import { generateSigningKey } from "../../dist/node.js";
import { workerOptions } from "../../../examples/worker/miniflare.mjs";
import { walkthrough } from "../../../scripts/walkthrough.mjs";

const key = () => JSON.stringify(generateSigningKey());

test("the example Worker holds every rule of docs/HTTP.md over a real socket (insecure: http://)", async () => {
  // The port must be known for ORIGIN: take a free one from a first start.
  const probe = new Miniflare(await workerOptions({ port: 0, bindings: { SIGNING_KEY: key(), ORIGIN: "http://x" } }));
  const port = Number((await probe.ready).port);
  await probe.dispose();
  const mf = new Miniflare(await workerOptions({ port, bindings: { SIGNING_KEY: key(), ORIGIN: `http://127.0.0.1:${port}`, INSECURE: "true" } }));
  try {
    const url = await mf.ready;
    const log = [];
    const failures = await walkthrough(url.href, { insecure: true, log: (l) => log.push(l) });
    assert.deepEqual(failures, [], log.join("\n"));
  } finally {
    await mf.dispose();
  }
});

test("H2.1/H2.2: deployed (not insecure) the Worker sets __Secure-wg_refresh with Secure; H1.3 JWKS max-age", async () => {
  const mf = new Miniflare(await workerOptions({ bindings: { SIGNING_KEY: key(), ORIGIN: "https://app.example" } }));
  try {
    const login = await mf.dispatchFetch("https://auth.example/auth/login", {
      method: "POST",
      headers: { origin: "https://app.example", "content-type": "application/json", "cf-connecting-ip": "203.0.113.9" },
      body: JSON.stringify({ username: "alice", password: "correct-horse" }),
    });
    assert.equal(login.status, 200, await login.clone().text());
    assert.match(login.headers.get("set-cookie"), /^__Secure-wg_refresh=wgrt1\.[^;]+; HttpOnly; Secure; SameSite=Strict; Path=\/auth; Max-Age=\d+$/);
    const { access_token: token } = await login.json();
    const list = await mf.dispatchFetch("https://auth.example/auth/sessions", { headers: { authorization: `Bearer ${token}` } });
    const [session] = (await list.json()).sessions;
    assert.equal(session.client.ip, "203.0.113.9", "H7.2: the address from CF-Connecting-IP");
    const jwks = await mf.dispatchFetch("https://auth.example/.well-known/jwks.json");
    assert.equal(jwks.headers.get("cache-control"), "public, max-age=300");
  } finally {
    await mf.dispose();
  }
});

test("H4.1: an outcome answered through the RPC stub: a malformed cookie → 401 refresh_rejected (malformed), cleared", async () => {
  const mf = new Miniflare(await workerOptions({ bindings: { SIGNING_KEY: key(), ORIGIN: "https://app.example" } }));
  try {
    const res = await mf.dispatchFetch("https://auth.example/auth/refresh", {
      method: "POST",
      headers: { origin: "https://app.example", cookie: "__Secure-wg_refresh=not-a-token" },
    });
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { error: "refresh_rejected", reason: "malformed" });
    assert.match(res.headers.get("set-cookie"), /^__Secure-wg_refresh=; HttpOnly; Secure; SameSite=Strict; Path=\/auth; Max-Age=0$/);
  } finally {
    await mf.dispose();
  }
});
