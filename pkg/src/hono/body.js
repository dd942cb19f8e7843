// H3.3 / H3.4: bodies are read through a byte cap, never whole before the check: a declared
// Content-Length over the limit is refused unread, a body without one is refused as soon as the
// bytes read pass the limit (the stream is cancelled then).
import { refusal } from "./http.js";

/** The request body as bytes, at most `limit` of them, or the 413 of H3.3. */
export async function readCapped(request, limit) {
  const declared = request.headers.get("content-length");
  if (declared !== null && !(Number(declared) <= limit)) throw refusal(413, "http_payload_too_large");
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw refusal(413, "http_payload_too_large");
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The capped body parsed as a JSON object, or the 400 of H3.4. */
export async function readJsonObject(request, limit) {
  const bytes = await readCapped(request, limit);
  let value;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    throw refusal(400, "http_malformed_json");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw refusal(400, "http_malformed_json");
  return value;
}
