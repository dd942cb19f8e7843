// H7.1 in workerd: loginThrottle over the Durable Object limiter (limiterObject /
// durableObjectLimiter) counts per subject and per client address, exactly, across requests.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { workerOptions } from "../../../examples/worker/miniflare.mjs";

test("the Durable Object limiter answers 429 http_rate_limited from the 4th attempt per key, other keys unaffected", async () => {
  const mf = new Miniflare(
    await workerOptions({
      scriptPath: fileURLToPath(new URL("./hono-limiter-worker.js", import.meta.url)),
      durableObjects: { LIMITER: "Limiter" },
    }),
  );
  try {
    const attempt = (user, ip) => mf.dispatchFetch(`http://x/login/${user}`, { method: "POST", headers: { "cf-connecting-ip": ip } });
    const bob = [];
    for (let i = 0; i < 5; i++) bob.push((await attempt("bob", `192.0.2.${i}`)).status); // subject:bob counts
    assert.deepEqual(bob, [200, 200, 200, 429, 429]);
    const limited = await attempt("bob", "192.0.2.99");
    assert.deepEqual(await limited.json(), { error: "http_rate_limited" });
    assert.match(limited.headers.get("retry-after"), /^[1-9]\d*$/);
    const fromOneIp = [];
    for (const user of ["u1", "u2", "u3", "u4"]) fromOneIp.push((await attempt(user, "198.51.100.1")).status); // ip: counts
    assert.deepEqual(fromOneIp, [200, 200, 200, 429]);
    assert.equal((await attempt("carol", "203.0.113.5")).status, 200, "a fresh subject from a fresh address");
  } finally {
    await mf.dispose();
  }
});
