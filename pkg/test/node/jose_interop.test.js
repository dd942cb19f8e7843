// Interoperability with jose (panva/jose 6): our tokens verify under jose, jose-minted tokens
// verify under our Verifier, and tampered tokens fail with the right code.
import assert from "node:assert/strict";
import { createPrivateKey, sign as edSign } from "node:crypto";
import test from "node:test";
import { SignJWT, createLocalJWKSet, errors as joseErrors, importJWK, jwtVerify } from "jose";
import { Verifier, generateSigningKey } from "../../dist/node.js";
import { AUDIENCE, ISSUER, SEC, T0, mustRenew, setup, throwsCode } from "./support.js";

const NOW_S = T0 / 1000;
const SID = "8d62d794-9157-409d-8851-376a14d6a918";

const publicOf = ({ d: _d, ...pub }) => pub;
const b64 = (obj) => Buffer.from(typeof obj === "string" ? obj : JSON.stringify(obj)).toString("base64url");

/** A jose-minted access token with the claims a resource service requires. */
async function joseToken(privateJwk, { header = {}, claims = {}, iat = NOW_S, exp = NOW_S + 300 } = {}) {
  const key = await importJWK(privateJwk, "EdDSA");
  return new SignJWT({ sid: SID, role: "admin", ...claims })
    .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid: privateJwk.kid, ...header })
    .setIssuer(ISSUER)
    .setSubject("jose-user")
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti("0a7e1a5c-2f4b-4d7e-9d7e-3c1f2b8a9e10")
    .sign(key);
}

/** Signs an arbitrary header and payload with Ed25519 (for headers jose refuses to produce). */
function rawToken(privateJwk, header, payload) {
  const input = `${b64(header)}.${b64(payload)}`;
  const key = createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", x: privateJwk.x, d: privateJwk.d }, format: "jwk" });
  return `${input}.${edSign(null, Buffer.from(input), key).toString("base64url")}`;
}

function standardPayload(overrides = {}) {
  return {
    iss: ISSUER,
    sub: "raw-user",
    aud: AUDIENCE,
    iat: NOW_S,
    exp: NOW_S + 300,
    jti: "0a7e1a5c-2f4b-4d7e-9d7e-3c1f2b8a9e10",
    sid: SID,
    ...overrides,
  };
}

const verifierFor = (jwks, extra = {}) => new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks, clock: () => T0, ...extra });

test("our access tokens verify under jose jwtVerify with createLocalJWKSet(authority.jwks())", async () => {
  const { authority, clock } = setup();
  const s = await authority.issue({ subject: "user-42", claims: { role: "admin", tenant: { id: 7 } } });
  const r = await mustRenew(authority, s.refreshToken);
  for (const token of [s.accessToken, r.accessToken]) {
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(authority.jwks()), {
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: "at+jwt",
      algorithms: ["EdDSA"],
      currentDate: new Date(clock.t),
      requiredClaims: ["iss", "sub", "aud", "exp", "iat", "jti", "sid"],
    });
    assert.deepEqual(protectedHeader, { alg: "EdDSA", typ: "at+jwt", kid: authority.activeKid() });
    assert.equal(payload.sub, "user-42");
    assert.equal(payload.sid, s.sessionId);
    assert.deepEqual(payload.tenant, { id: 7 });
    // Our own verifier agrees with jose claim for claim.
    const ours = new Verifier({ issuer: ISSUER, audience: AUDIENCE, jwks: authority.jwks(), clock: clock.now }).verify(token);
    assert.deepEqual(ours, payload);
  }
  // jose enforces the same bounds: wrong audience, expiry.
  await assert.rejects(
    jwtVerify(s.accessToken, createLocalJWKSet(authority.jwks()), { issuer: ISSUER, audience: "other", currentDate: new Date(clock.t) }),
    joseErrors.JWTClaimValidationFailed,
  );
  await assert.rejects(
    jwtVerify(s.accessToken, createLocalJWKSet(authority.jwks()), { issuer: ISSUER, audience: AUDIENCE, currentDate: new Date(clock.t + 301 * SEC) }),
    joseErrors.JWTExpired,
  );
});

test("after key rotation jose verifies old and new tokens from the published JWKS", async () => {
  const { authority, clock } = setup();
  const old = await authority.issue({ subject: "rot" });
  const k2 = generateSigningKey();
  authority.addSigningKey(k2);
  authority.activateKey(k2.kid);
  const fresh = await authority.issue({ subject: "rot" });
  const jwks = createLocalJWKSet(authority.jwks());
  const opts = { issuer: ISSUER, audience: AUDIENCE, typ: "at+jwt", currentDate: new Date(clock.t) };
  const k1kid = authority.jwks().keys.find((k) => k.kid !== k2.kid).kid;
  assert.equal((await jwtVerify(old.accessToken, jwks, opts)).protectedHeader.kid, k1kid);
  assert.equal((await jwtVerify(fresh.accessToken, jwks, opts)).protectedHeader.kid, k2.kid);
  authority.retireKey(k1kid);
  await assert.rejects(jwtVerify(old.accessToken, createLocalJWKSet(authority.jwks()), opts), joseErrors.JWKSNoMatchingKey);
});

test("jose-minted tokens verify with our Verifier built from the key's public JWK", async () => {
  const key = generateSigningKey();
  const pub = publicOf(key);
  assert.equal("d" in pub, false);
  const v = verifierFor({ keys: [pub] });
  const token = await joseToken(key, { claims: { scope_list: ["a", "b"], n: 1.5 } });
  const claims = v.verify(token);
  assert.deepEqual(claims, {
    iss: ISSUER,
    sub: "jose-user",
    aud: AUDIENCE,
    iat: NOW_S,
    exp: NOW_S + 300,
    jti: "0a7e1a5c-2f4b-4d7e-9d7e-3c1f2b8a9e10",
    sid: SID,
    role: "admin",
    scope_list: ["a", "b"],
    n: 1.5,
  });
  // RFC 9068 §4 also allows the full media type; an audience array containing ours is fine.
  assert.equal(v.verify(await joseToken(key, { header: { typ: "application/at+jwt" } })).sub, "jose-user");
  const multi = await new SignJWT({ sid: SID })
    .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid: key.kid })
    .setIssuer(ISSUER)
    .setSubject("multi")
    .setAudience(["other-api", AUDIENCE])
    .setIssuedAt(NOW_S)
    .setExpirationTime(NOW_S + 60)
    .setJti("j")
    .sign(await importJWK(key, "EdDSA"));
  assert.deepEqual(v.verify(multi).aud, ["other-api", AUDIENCE]);
});

test("verify returns a foreign token's payload as signed: member order, a one-element aud array, fractional times", () => {
  const key = generateSigningKey();
  const v = verifierFor({ keys: [publicOf(key)] });
  // Another issuer's style: application claims first, aud as an array, NumericDates with
  // fractions (RFC 7519 allows them; the checks use whole seconds).
  const payload = { tenant: "t1", ...standardPayload({ aud: [AUDIENCE], iat: NOW_S + 0.25, exp: NOW_S + 300.5 }) };
  const header = { alg: "EdDSA", typ: "at+jwt", kid: key.kid };
  const claims = v.verify(rawToken(key, header, payload));
  assert.deepEqual(claims, payload);
  assert.deepEqual(Object.keys(claims), Object.keys(payload));
  assert.deepEqual(claims.aud, [AUDIENCE]);
  assert.equal(claims.exp, NOW_S + 300.5);
});

test("a public JWK without kid gets its RFC 7638 thumbprint as kid", async () => {
  const key = generateSigningKey();
  const v = verifierFor({ keys: [{ kty: "OKP", crv: "Ed25519", x: key.x }] });
  assert.equal(v.verify(await joseToken(key)).sub, "jose-user"); // key.kid is the thumbprint
});

test("tampered jose tokens fail with the right code", async () => {
  const key = generateSigningKey();
  const v = verifierFor({ keys: [publicOf(key)] });
  const good = await joseToken(key);
  const [h, p, s] = good.split(".");
  const expect = (token, code) => throwsCode(() => v.verify(token), { code, secrets: [good, token] });

  // Payload changed, signature kept.
  const payload = JSON.parse(Buffer.from(p, "base64url"));
  expect(`${h}.${b64({ ...payload, sub: "admin" })}.${s}`, "token_bad_signature");
  expect(`${h}.${b64({ ...payload, exp: payload.exp + 3600 })}.${s}`, "token_bad_signature");
  // Header changed (kid kept), signature kept.
  expect(`${b64({ alg: "EdDSA", typ: "at+jwt", kid: key.kid, x: 1 })}.${p}.${s}`, "token_bad_signature");
  // Signature bits flipped (re-encoded canonically).
  for (const i of [0, 31, 32, 63]) {
    const sig = Buffer.from(s, "base64url");
    sig[i] ^= 0x01;
    expect(`${h}.${p}.${sig.toString("base64url")}`, "token_bad_signature");
  }
  // Truncated or empty signature.
  expect(`${h}.${p}.${Buffer.from(s, "base64url").subarray(0, 63).toString("base64url")}`, ["token_bad_signature", "token_malformed"]);
  expect(`${h}.${p}.`, ["token_bad_signature", "token_malformed"]);
  // alg: none (with and without a signature), and an HMAC token keyed with the public key.
  expect(`${b64({ alg: "none", typ: "at+jwt", kid: key.kid })}.${p}.`, ["token_unsupported_alg", "token_malformed"]);
  expect(`${b64({ alg: "none", typ: "at+jwt", kid: key.kid })}.${p}.${s}`, "token_unsupported_alg");
  const hs = await new SignJWT(payload)
    .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: key.kid })
    .sign(Buffer.from(key.x, "base64url"));
  expect(hs, "token_unsupported_alg");
  expect(await joseToken(key, { header: { typ: "JWT" } }), "token_wrong_typ");
  expect(await joseToken(key, { header: { typ: "jwt" } }), "token_wrong_typ");
  expect(rawToken(key, { alg: "EdDSA", kid: key.kid }, standardPayload()), "token_wrong_typ");
  expect(await joseToken(key, { header: { kid: "unknown-kid" } }), "token_unknown_kid");
  expect(rawToken(key, { alg: "EdDSA", typ: "at+jwt" }, standardPayload()), "token_missing_kid");
  expect(rawToken(key, { alg: "EdDSA", typ: "at+jwt", kid: key.kid, crit: ["exp"], exp: 1 }, standardPayload()), "token_unsupported_crit");
  // jku / x5u / jwk headers are never followed: a self-signed attacker key in the header fails.
  const attacker = generateSigningKey();
  expect(
    rawToken(attacker, { alg: "EdDSA", typ: "at+jwt", kid: key.kid, jwk: publicOf(attacker), jku: "https://evil.example/jwks" }, standardPayload()),
    "token_bad_signature",
  );
  // Same kid, different key.
  expect(await joseToken({ ...attacker, kid: key.kid }), "token_bad_signature");
  // Time: expired once exp + 30 s leeway is reached (RFC 7519: now must be before exp), inside it
  // still valid; nbf / iat in the future beyond the leeway: not yet valid.
  expect(await joseToken(key, { iat: NOW_S - 400, exp: NOW_S - 30 }), "token_expired");
  assert.equal(v.verify(await joseToken(key, { iat: NOW_S - 400, exp: NOW_S - 29 })).sub, "jose-user");
  assert.equal(v.verify(await joseToken(key, { claims: { nbf: NOW_S + 30 } })).sub, "jose-user");
  expect(await joseToken(key, { claims: { nbf: NOW_S + 60 } }), "token_not_yet_valid");
  expect(await joseToken(key, { iat: NOW_S + 60, exp: NOW_S + 600 }), "token_not_yet_valid");
  // Claims: issuer, audience, missing or mistyped required claims.
  expect(rawToken(key, { alg: "EdDSA", typ: "at+jwt", kid: key.kid }, standardPayload({ iss: "https://evil.example" })), "token_wrong_issuer");
  expect(rawToken(key, { alg: "EdDSA", typ: "at+jwt", kid: key.kid }, standardPayload({ aud: "other" })), "token_wrong_audience");
  expect(rawToken(key, { alg: "EdDSA", typ: "at+jwt", kid: key.kid }, standardPayload({ aud: ["a", "b"] })), "token_wrong_audience");
  for (const claim of ["sub", "exp", "iat", "jti", "sid", "iss", "aud"]) {
    const { [claim]: _drop, ...missing } = standardPayload();
    expect(rawToken(key, { alg: "EdDSA", typ: "at+jwt", kid: key.kid }, missing), "token_invalid_claims");
  }
  for (const [claim, value] of [
    ["exp", "soon"],
    ["iat", null],
    ["sid", 42],
    ["sub", { id: 1 }],
  ]) {
    expect(rawToken(key, { alg: "EdDSA", typ: "at+jwt", kid: key.kid }, standardPayload({ [claim]: value })), "token_invalid_claims");
  }
  // A correctly signed payload that is not a JSON object.
  const notObject = `${b64({ alg: "EdDSA", typ: "at+jwt", kid: key.kid })}.${b64("[1,2]")}`;
  const keyObj = createPrivateKey({ key: { kty: "OKP", crv: "Ed25519", x: key.x, d: key.d }, format: "jwk" });
  expect(`${notObject}.${edSign(null, Buffer.from(notObject), keyObj).toString("base64url")}`, ["token_invalid_claims", "token_malformed"]);
  // Non-canonical base64url (padding, standard alphabet) is refused.
  expect(`${h}.${p}.${s}==`, ["token_malformed", "token_bad_signature"]);
  expect(`${h}.${p.replace(/-/g, "+").replace(/_/g, "/")}x.${s}`, ["token_malformed", "token_bad_signature"]);
  // The untampered token still verifies.
  assert.equal(v.verify(good).sub, "jose-user");
});

test("our Verifier and jose agree on a raw token signed outside both libraries", async () => {
  const key = generateSigningKey();
  const token = rawToken(key, { alg: "EdDSA", typ: "at+jwt", kid: key.kid }, standardPayload({ extra: "ü" }));
  const ours = verifierFor({ keys: [publicOf(key)] }).verify(token);
  const theirs = await jwtVerify(token, createLocalJWKSet({ keys: [publicOf(key)] }), {
    issuer: ISSUER,
    audience: AUDIENCE,
    typ: "at+jwt",
    currentDate: new Date(T0),
  });
  assert.deepEqual(ours, theirs.payload);
});
