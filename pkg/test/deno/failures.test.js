// Store failures on top of real Deno KV: a rejected or thrown store call is store_unavailable and
// loses nothing; a wrong-shaped answer is store_failed; the Authority stays usable afterwards.
import assert from "node:assert/strict";
import { denoKvStore } from "../../dist/deno.js";
import { makeAuthority, manualClock, rejection, withKv } from "./_helpers.js";

// denoKvStore with switchable faults: `faults.<method> = fn` replaces that method for one call.
function faultyStore(kv) {
  const inner = denoKvStore(kv);
  const faults = {};
  const calls = { set: 0 };
  const wrap = (name) =>
    function (...args) {
      if (name === "set") calls.set++;
      const fault = faults[name];
      if (fault) {
        delete faults[name];
        return fault(...args);
      }
      return inner[name](...args);
    };
  return { faults, calls, store: { get: wrap("get"), set: wrap("set"), delete: wrap("delete"), list: wrap("list") } };
}

const isCode = (e, code) => {
  assert.ok(e instanceof Error, `not an Error: ${e}`);
  assert.equal(e.code, code, `${e.code}: ${e.message}`);
};

Deno.test("failures: a set that rejects once → store_unavailable; the same token then renews", () =>
  withKv(async (kv) => {
    const clock = manualClock();
    const { store, faults } = faultyStore(kv);
    const { authority, count } = makeAuthority(store, { clock });
    const s = await authority.issue({ subject: "alice" });

    faults.set = async () => {
      throw new Error("KV write timed out");
    };
    const err = await rejection(authority.renew(s.refreshToken));
    isCode(err, "store_unavailable");
    assert.match(err.message, /KV write timed out/);
    assert.equal(faults.set, undefined, "the fault was never hit");
    assert.equal(count("renewed"), 0);

    // Nothing was lost: the presented token is still the current one.
    const r = await authority.renew(s.refreshToken);
    assert.equal(r.outcome, "renewed");
    assert.equal(r.generation, 1);
    assert.equal(r.retriedInGrace, false);
    assert.equal((await authority.renew(r.refreshToken)).generation, 2);
  }));

Deno.test("failures: a store method that throws synchronously → store_unavailable, not a trap", () =>
  withKv(async (kv) => {
    const clock = manualClock();
    const { store, faults } = faultyStore(kv);
    const { authority } = makeAuthority(store, { clock });
    const s = await authority.issue({ subject: "alice" });
    faults.get = () => {
      throw new TypeError("connection reset");
    };
    isCode(await rejection(authority.renew(s.refreshToken)), "store_unavailable");
    faults.list = () => {
      throw new Error("list down");
    };
    isCode(await rejection(authority.listSessions("alice")), "store_unavailable");
    // An issue whose writes fail leaves no usable session, and the next issue works.
    faults.set = () => Promise.reject(new Error("quota"));
    isCode(await rejection(authority.issue({ subject: "alice" })), "store_unavailable");
    const again = await authority.issue({ subject: "alice" });
    assert.equal((await authority.renew(again.refreshToken)).outcome, "renewed");
    assert.equal((await authority.renew(s.refreshToken)).outcome, "renewed");
  }));

Deno.test("failures: wrong-shaped store answers → store_failed; the Authority stays usable", () =>
  withKv(async (kv) => {
    const clock = manualClock();
    const { store, faults } = faultyStore(kv);
    const { authority } = makeAuthority(store, { clock });
    const s = await authority.issue({ subject: "alice" });

    const wrongGets = [
      async () => ({ value: 42, version: "1" }),
      async () => ({ value: "{}" }),
      async () => "just a string",
      async () => ({ value: "{}", version: 7 }),
    ];
    for (const wrong of wrongGets) {
      faults.get = wrong;
      isCode(await rejection(authority.renew(s.refreshToken)), "store_failed");
    }
    faults.set = async () => ({ ok: "yes" });
    isCode(await rejection(authority.renew(s.refreshToken)), "store_failed");
    faults.set = async () => ({ ok: true });
    isCode(await rejection(authority.renew(s.refreshToken)), "store_failed");
    faults.list = async () => ({ keys: "u/alice/x" });
    isCode(await rejection(authority.listSessions("alice")), "store_failed");
    faults.list = async () => ({ keys: [1, 2] });
    isCode(await rejection(authority.listSessions("alice")), "store_failed");

    // Usable afterwards, and nothing changed: the faults replaced the calls, so the first
    // token is still current and rotates to generation 1.
    const r = await authority.renew(s.refreshToken);
    assert.equal(r.outcome, "renewed");
    assert.equal(r.generation, 1);
    assert.equal(r.retriedInGrace, false);
    const fresh = await authority.issue({ subject: "alice" });
    assert.equal((await authority.renew(fresh.refreshToken)).outcome, "renewed");
    assert.ok((await authority.listSessions("alice")).sessions.some((x) => x.sessionId === fresh.sessionId));
  }));

Deno.test("failures: a corrupt record in Deno KV → store_corrupt_record, other sessions unaffected", () =>
  withKv(async (kv) => {
    const clock = manualClock();
    const { authority } = makeAuthority(denoKvStore(kv), { clock });
    const victim = await authority.issue({ subject: "alice" });
    const other = await authority.issue({ subject: "alice" });
    await kv.set(["webgates", `s/${victim.sessionId}`], "{not json");
    isCode(await rejection(authority.renew(victim.refreshToken)), "store_corrupt_record");
    assert.equal((await authority.renew(other.refreshToken)).outcome, "renewed");
  }));
