// webgates-sessions/hono: the HTTP contract of docs/HTTP.md (H1–H8) as Hono routes and
// middleware. Hono is a peer dependency; nothing else in the package imports it, and nothing here
// loads wasm: the authority and verifier come from the runtime's entry point.
export { authRoutes, issueSession, loginBody } from "./routes.js";
export { requireAuth } from "./bearer.js";
export { loginThrottle, memoryLimiter, clientAddress } from "./throttle.js";
export { authorityObject, durableObjectLimiter, limiterObject } from "./durable-object.js";
