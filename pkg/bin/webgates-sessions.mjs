#!/usr/bin/env node
// webgates-sessions command line: key tooling for deployments.
//
//   webgates-sessions keygen            a new Ed25519 private JWK (a secret: store it as one)
//   webgates-sessions jwks <file>       the public JWKS of a file holding a private JWK, an
//                                       array of them or a JWKS ("-" reads standard input)
//   webgates-sessions inspect <token>   an access token's header and payload, decoded and
//                                       UNVERIFIED (no signature or claim is checked)
//
// Output is JSON on standard output; errors go to standard error with exit status 1 (2 for a
// usage error). Key material never appears in an error message.
import { readFileSync } from "node:fs";
import { generateSigningKey, jwks } from "../dist/node.js";

const USAGE = `usage: webgates-sessions <command>

  keygen            print a new Ed25519 private JWK (keep it secret)
  jwks <file>       print the public JWKS for the private JWK(s) in <file>
                    (a JWK, an array of JWKs or a JWKS; "-" reads standard input)
  inspect <token>   print an access token's header and payload, decoded but UNVERIFIED
`;

const print = (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

function fail(message, status = 1) {
  process.stderr.write(`webgates-sessions: ${message}\n`);
  process.exit(status);
}

function usage(message) {
  if (message) process.stderr.write(`webgates-sessions: ${message}\n`);
  process.stderr.write(USAGE);
  process.exit(2);
}

/** The JWKs a key file holds: one JWK, an array of them, or a JWKS `{ keys: [...] }`. */
function keysOf(text, name) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    fail(`${name} is not JSON`);
  }
  if (Array.isArray(value)) return value;
  if (value !== null && typeof value === "object" && Array.isArray(value.keys)) return value.keys;
  if (value !== null && typeof value === "object" && !Array.isArray(value)) return [value];
  fail(`${name} must hold a JWK, an array of JWKs or a JWKS`);
}

function decodeSegment(segment, what) {
  try {
    const value = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error();
    return value;
  } catch {
    fail(`not a JWT: the ${what} is not base64url JSON`);
  }
}

const [command, ...args] = process.argv.slice(2);
try {
  switch (command) {
    case "keygen":
      if (args.length !== 0) usage("keygen takes no arguments");
      print(generateSigningKey());
      break;
    case "jwks": {
      if (args.length !== 1) usage("jwks takes one file");
      const [file] = args;
      let text;
      try {
        text = file === "-" ? readFileSync(0, "utf8") : readFileSync(file, "utf8");
      } catch (e) {
        fail(`cannot read ${file}: ${e.code ?? e.message}`);
      }
      print(jwks(keysOf(text, file === "-" ? "standard input" : file)));
      break;
    }
    case "inspect": {
      if (args.length !== 1) usage("inspect takes one token");
      const parts = args[0].trim().split(".");
      if (parts.length !== 3) fail("not a JWT: expected three dot-separated parts (refresh tokens are opaque)");
      const header = decodeSegment(parts[0], "header");
      const payload = decodeSegment(parts[1], "payload");
      process.stderr.write("UNVERIFIED: decoded only; the signature and claims were not checked.\n");
      print({ verified: false, header, payload });
      break;
    }
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      break;
    default:
      usage(command === undefined ? "no command" : `unknown command ${JSON.stringify(command)}`);
  }
} catch (e) {
  // This package's errors carry a code and no key material.
  fail(typeof e?.code === "string" ? e.message : `failed: ${e?.message ?? e}`);
}
