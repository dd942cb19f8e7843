// What every JS store adapter shares: argument errors, the `expect` check for stores that compare
// in JS, page slicing, random versions, and for the SQL stores the table name rule and the
// byte-order upper bound of a key prefix. Nothing here runs at module top level.

import { codedError } from "../errors.js";

/** A TypeError with the `invalid_input` code, prefixed with the adapter's name. */
export const invalid = (who, message) => codedError(TypeError, "invalid_input", `${who}: ${message}`);

/** Whether an entry (`undefined` or `null` when absent) satisfies `expect`. */
export const matches = (current, expect) =>
  expect === "any" ||
  (expect === "absent" && current == null) ||
  (typeof expect === "object" && expect !== null && current != null && current.version === expect.version);

/** The page of at most `limit` keys out of `keys` (which may hold one more to show there is a next page). */
export const page = (keys, limit) => {
  const shown = keys.slice(0, limit);
  return { keys: shown, cursor: keys.length > limit ? shown[shown.length - 1] : null };
};

/** A page size: a whole number of at least 1 (the core asks for at most a few hundred). */
export const pageSize = (limit) => Math.max(1, Math.floor(Number.isFinite(limit) ? limit : 100));

/** 128 random bits as 32 lowercase hex characters: a version that never repeats, even after a delete. */
export function randomVersion() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let hex = "";
  for (const b of bytes) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/** The table every SQL store uses unless told otherwise (the native crates' default too). */
export const DEFAULT_TABLE = "webgates_sessions";

// Unquoted, lower case (PostgreSQL folds unquoted names), and short enough that
// `<table>_migrations` stays within PostgreSQL's 63-byte identifiers.
const TABLE = /^[a-z_][a-z0-9_]{0,51}$/;

/** The validated table name from a SQL store's options. */
export function tableName(who, options) {
  if (options === null || typeof options !== "object" || Array.isArray(options)) throw invalid(who, "options must be an object");
  for (const k of Object.keys(options)) {
    if (k !== "table") throw invalid(who, `unknown option ${JSON.stringify(k)}`);
  }
  const table = options.table ?? DEFAULT_TABLE;
  if (typeof table !== "string" || !TABLE.test(table)) {
    throw invalid(who, "table must be 1 to 52 characters of a-z, 0-9 and _, not starting with a digit");
  }
  return table;
}

// U+10FFFF is the last code point, and UTF-8 byte order is code point order.
const LAST = 0x10ffff;

/**
 * The least string above every string that starts with `prefix`, in UTF-8 byte order, or null if
 * there is none (`""`, or only U+10FFFF). A prefix listing is then the range `[prefix, successor)`
 * — never `LIKE`, since keys contain `_` and `%XX`.
 */
export function prefixSuccessor(prefix) {
  const points = Array.from(prefix, (c) => c.codePointAt(0));
  while (points.length > 0 && points[points.length - 1] === LAST) points.pop();
  if (points.length === 0) return null;
  let next = points.pop() + 1;
  if (next === 0xd800) next = 0xe000; // skip the surrogates, which UTF-8 cannot encode
  points.push(next);
  return String.fromCodePoint(...points);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** A value as the bytes a SQL store keeps. */
export const toBytes = (value) => encoder.encode(value);

/** A stored value's bytes back as the string `set` was given; throws on bytes that are not UTF-8. */
export const fromBytes = (bytes) => decoder.decode(bytes);

/** Checks a key and a value before any I/O. */
export function checkKey(who, key) {
  if (typeof key !== "string") throw invalid(who, "key must be a string");
}

export function checkValue(who, value) {
  if (typeof value !== "string") throw invalid(who, "value must be a string");
}

/** `expect` as one of three shapes, or an `invalid_input` error. */
export function expectation(who, expect) {
  if (expect === "absent" || expect === "any") return expect;
  if (typeof expect === "object" && expect !== null && typeof expect.version === "string") return expect;
  throw invalid(who, 'expect must be "absent", "any" or { version: string }');
}

/** An expiry hint as whole epoch milliseconds, or null for none. */
export function expiryHint(who, expiresAt) {
  if (expiresAt === undefined || expiresAt === null) return null;
  if (typeof expiresAt !== "number" || !Number.isFinite(expiresAt)) throw invalid(who, "expiresAt must be a finite number of epoch ms");
  return Math.floor(expiresAt);
}
