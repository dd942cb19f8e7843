// Error codes across Workers RPC: a Durable Object throws an error of this package, the Worker
// catches it through a real RPC stub (Miniflare's workerd). RPC keeps the message and the error
// type, not `code`; the code survives as the message's first word and WebgatesError.from /
// isWebgatesError restore it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startHarness } from "./miniflare.js";

let mf;
before(() => {
  mf = startHarness();
});
after(() => mf?.dispose());

async function rpc(what) {
  const res = await mf.dispatchFetch(`http://harness/rpc/${what}`);
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.threw, true, what);
  return body;
}

for (const [what, ctor, code] of [
  ["fractionalTtl", "RangeError", "invalid_input"],
  ["badToken", "Error", "token_malformed"],
  ["storeDown", "Error", "store_unavailable"],
]) {
  test(`a ${code} thrown in a Durable Object keeps its code across RPC (${what})`, async () => {
    const e = await rpc(what);
    assert.equal(e.ctor, ctor, JSON.stringify(e));
    assert.ok(e.message.startsWith(`${code}: `), e.message);
    assert.equal(e.recovered, code);
    assert.equal(e.is, true);
    assert.equal(e.codeAfter, code, "isWebgatesError / from restore `code` on the caught error");
    // What RPC does to the property itself, for the record (null when dropped, as today).
    console.log(`${what}: code after RPC ${JSON.stringify(e.code)}, recovered ${e.recovered}`);
  });
}
