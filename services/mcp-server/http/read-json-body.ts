import type { IncomingMessage } from "node:http";
import { finished } from "node:stream";
import { exceedsNesting } from "#kit/input/index.js";
import { RPC } from "./responses.js";

export type BodyResult =
  | { ok: true; value: unknown }
  | { ok: false; status: 400 | 413 | 415; rpcCode: number; message: string };

/**
 * Deeper than any MCP message nests (a tool's arguments, nested at most 64 levels by the gateway,
 * inside the JSON-RPC envelope), far shallower than what overflows the SDK's `JSON.stringify`.
 */
export const MAX_JSON_NESTING = 128;

/**
 * Reads and parses a JSON request body, refusing more than `maxBytes` before buffering it all. We
 * parse it ourselves (instead of letting the SDK transport do it) because the HTTP layer must see
 * which tool a tools/call names to answer 403 insufficient_scope, and which calls to audit.
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  const type = req.headers["content-type"] ?? "";
  if (!/^application\/json\b/i.test(type)) {
    return {
      ok: false,
      status: 415,
      rpcCode: RPC.serverError,
      message: "Unsupported Media Type: Content-Type must be application/json",
    };
  }
  // A compressed body would be read as JSON text and refused as garbage, or — labelled but not
  // compressed — accepted under a coding nobody applied: neither is accepted (RFC 9110 §15.5.16).
  const coding = req.headers["content-encoding"]?.trim().toLowerCase();
  if (coding !== undefined && coding !== "" && coding !== "identity") {
    req.resume();
    return {
      ok: false,
      status: 415,
      rpcCode: RPC.serverError,
      message: `Unsupported Media Type: Content-Encoding "${coding.slice(0, 40)}" is not accepted; send the body uncompressed`,
    };
  }
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    return tooLarge(maxBytes);
  }
  const body = await readBody(req, maxBytes);
  if (body === undefined) {
    return tooLarge(maxBytes);
  }
  const text = body.toString("utf8");
  if (exceedsNesting(text, MAX_JSON_NESTING)) {
    const message = `Invalid Request: the body nests deeper than ${MAX_JSON_NESTING} levels`;
    return { ok: false, status: 400, rpcCode: RPC.invalidRequest, message };
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return {
      ok: false,
      status: 400,
      rpcCode: RPC.parseError,
      message: "Parse error: the body is not valid JSON",
    };
  }
}

function tooLarge(maxBytes: number): BodyResult {
  const message = `Payload Too Large: the body exceeds ${maxBytes} bytes`;
  return { ok: false, status: 413, rpcCode: RPC.serverError, message };
}

/**
 * The body's bytes, or undefined once it passes `maxBytes` (the rest is drained, not kept). Read
 * with the stream's events rather than `for await`: an async iterator per request was the largest
 * cost of our own in the server's profile (docs/performance.md, "Per-call breakdown: MCP server").
 * How it ends is `finished`'s to say, which also answers for a request that closed before it was
 * read (the client hung up while it was authenticated): it rejects then, never waits forever.
 */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (done: () => void) => {
      if (settled) return;
      settled = true;
      req.off("data", onData);
      stopWatching();
      done();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      settle(() => resolve(undefined));
      req.resume();
    };
    const stopWatching = finished(req, { writable: false }, (err) => {
      if (err) settle(() => reject(err));
      else settle(() => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    });
    req.on("data", onData);
  });
}
