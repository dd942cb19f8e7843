// d1Store(env.DB) inside workerd (Miniflare's local D1): migrations, the conformance suite, D1
// specifics (byte-order listing, getMany, BLOB storage, purging, bad input), ten concurrent
// renewals of one token by ten authorities (one per request) over 30 rounds, workerd stopped
// while renewals are in flight, and the renewal latency measured inside the Worker.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { storeConformanceCases } from "../../src/conformance/node.js";

const CASES = storeConformanceCases().map((c) => c.name);
import { modulesRules, repoRoot, signingKeyJson } from "./miniflare.js";

const N = 10;
const ROUNDS = 30;
const SIGNING_KEY = signingKeyJson();
const start = (options = {}) =>
  new Miniflare({
    modules: true,
    scriptPath: fileURLToPath(new URL("./d1-worker.js", import.meta.url)),
    modulesRoot: repoRoot,
    modulesRules,
    d1Databases: ["DB"],
    bindings: { SIGNING_KEY },
    compatibilityDate: "2025-01-01",
    ...options,
  });

let mf;
before(async () => {
  mf = start();
  const m = await call("/migrate", "POST");
  assert.deepEqual(m.first.flat(), [1], `two racing migrate() calls applied ${JSON.stringify(m.first)}`);
  assert.deepEqual(m.second, []);
});
after(() => mf?.dispose());

async function call(path, method = "GET", body, on = mf) {
  const res = await on.dispatchFetch(`http://d1${path}`, { method, body });
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  return json;
}

test("d1Store(env.DB) passes every conformance case inside workerd", async () => {
  const r = await call("/conformance");
  assert.deepEqual(r.failed, []);
  assert.deepEqual(r.passed, CASES);
  console.log(`d1: ${r.passed.length}/${CASES.length} cases passed`);
});

test("d1Store lists byte-order key ranges, reads in batches, stores UTF-8 BLOBs and purges by hint", async () => {
  const r = await call("/checks");
  // _ and % are literal; upper case sorts before lower case (BINARY collation).
  assert.deepEqual(r.list, { keys: ["lr/a_b/1", "lr/a_b/2", "lr/a_b/B", "lr/a_b/a"], cursor: null });
  assert.deepEqual(r.first, { keys: ["lr/a_b/1", "lr/a_b/2", "lr/a_b/B"], cursor: "lr/a_b/B" });
  assert.deepEqual(r.rest, { keys: ["lr/a_b/a"], cursor: null });
  assert.deepEqual(r.percent, ["lr/a%b/1"]);
  // UTF-8 byte order, which is code point order (JS string order would put U+10000 before U+FFFF).
  assert.deepEqual(r.nonAscii, r.ordered);
  assert.deepEqual(r.accented, ["nu/é/1", "nu/éa"]);
  assert.deepEqual(r.lastCodePoint, r.ordered.slice(5));

  const [va, vb] = r.versions;
  const want = [{ value: "βeta", version: vb }, null, { value: "alpha", version: va }, { value: "βeta", version: vb }];
  assert.deepEqual(r.getMany, want);
  assert.deepEqual(r.gets, want);
  assert.deepEqual(r.getManyLong, Array.from({ length: 150 }, (_, i) => (i % 2 === 0 ? "alpha" : null)));

  assert.deepEqual(r.stored, { type: "blob", hex: r.valueHex });
  assert.equal(r.versionsFresh, true, "a version was not 32 hex digits or repeated after delete and re-create");

  assert.equal(r.purged, 2);
  assert.deepEqual(r.afterPurge, ["px/later", "px/none"]);

  assert.deepEqual(r.badInput, {
    notDb: "invalid_input",
    upperTable: "invalid_input",
    injection: "invalid_input",
    unknownOption: "invalid_input",
    badExpect: "invalid_input",
    notString: "invalid_input",
  });
  assert.deepEqual(r.migrateAfterSchema, [], "migrate() did not see d1Schema() as applied");
});

async function renewOnce(token) {
  for (let i = 0; i < 50; i++) {
    const r = await call("/renew", "POST", token);
    if (r.outcome !== "leaseHeld") return r;
  }
  throw new Error("leaseHeld did not clear");
}

test(`${N} authorities renew one token at once on D1: one rotation, one successor (${ROUNDS} rounds)`, async () => {
  const walls = [];
  for (let round = 0; round < ROUNDS; round++) {
    const issued = await call("/issue", "POST");
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: N }, () => renewOnce(issued.refreshToken)));
    walls.push(performance.now() - t0);
    for (const r of results) assert.equal(r.outcome, "renewed", JSON.stringify(r));
    const successors = new Set(results.map((r) => r.refreshToken));
    assert.equal(successors.size, 1, `round ${round}: ${successors.size} successors (the chain forked)`);
    assert.equal(results.filter((r) => !r.retriedInGrace).length, 1, `round ${round}: not exactly one rotation`);
    assert.ok(results.every((r) => r.generation === 1));
    const events = await call(`/events?sid=${issued.sessionId}`);
    assert.equal(events.renewed, 1, `round ${round}: events ${JSON.stringify(events)}`);
    assert.equal(events.replayDetected, undefined);
    const next = await renewOnce([...successors][0]);
    assert.equal(next.outcome, "renewed");
    assert.equal(next.retriedInGrace, false);
    assert.equal(next.generation, 2);
  }
  walls.sort((a, b) => a - b);
  console.log(`d1: ${N} concurrent renewals, ${ROUNDS} rounds: wall p50 ${walls[ROUNDS >> 1].toFixed(2)} ms, max ${walls[ROUNDS - 1].toFixed(2)} ms (through dispatchFetch)`);
});

test("workerd stopped while renewals are in flight: after a restart every session is there and its token renews", async () => {
  const dir = await mkdtemp(join(tmpdir(), "webgates-d1-"));
  try {
    let running = start({ d1Persist: dir });
    await call("/migrate", "POST", undefined, running);
    const issued = [];
    for (let i = 0; i < 5; i++) issued.push(await call("/issue", "POST", undefined, running));
    // Renewals in flight when the runtime goes away: each either never reached D1, or committed
    // and lost its answer; both leave the presented token usable (the second through the grace
    // window, which returns the same successor).
    const inFlight = issued.map((s) => running.dispatchFetch("http://d1/renew", { method: "POST", body: s.refreshToken }).catch((e) => e));
    await running.dispose();
    const answered = (await Promise.all(inFlight)).filter((r) => r instanceof Response && r.status === 200).length;
    running = start({ d1Persist: dir });
    let inGrace = 0;
    try {
      for (const s of issued) {
        const r = await call("/renew", "POST", s.refreshToken, running);
        if (r.retriedInGrace) inGrace++;
        assert.equal(r.outcome, "renewed", JSON.stringify(r));
        assert.equal(r.sessionId, s.sessionId);
        assert.equal(r.generation, 1);
      }
      console.log(`d1 restart: ${answered}/${issued.length} in-flight renewals answered before the stop; ` +
        `after the restart ${inGrace} tokens renewed in grace (their rotation had committed), ${issued.length - inGrace} rotated now`);
    } finally {
      await running.dispose();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("renewal latency on D1 inside the Worker (reported, not asserted)", async () => {
  const n = 200;
  const { renew, issue, cas } = await call(`/latency?n=${n}`);
  assert.equal(renew.length, n);
  const q = (xs, p) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(xs.length * p))].toFixed(2);
  console.log(`d1: renew p50 ${q(renew, 0.5)} ms, p95 ${q(renew, 0.95)} ms; issue p50 ${q(issue, 0.5)} ms, p95 ${q(issue, 0.95)} ms (${n} each, timed inside workerd); ` +
    `bare compare-and-set p50 ${q(cas, 0.5)} ms`);
});
