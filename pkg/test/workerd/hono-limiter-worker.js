// Test worker for hono-limiter.test.js: the login throttle over limiterObject, one Durable
// Object per key (3 attempts per minute).
import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";
import { durableObjectLimiter, limiterObject, loginThrottle } from "../../src/hono/index.js";

export class Limiter extends limiterObject(DurableObject, { limit: 3, period: 60 }) {}

const app = new Hono();
app.post("/login/:user", async (c) => {
  await loginThrottle(c, c.req.param("user"), { limiter: durableObjectLimiter(c.env.LIMITER), trustedIpHeader: "CF-Connecting-IP" });
  return c.json({ ok: true });
});
export default app;
