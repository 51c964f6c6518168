import type { IncomingMessage } from "node:http";
import { finished } from "node:stream";

export type BodyResult =
  | { ok: true; value: unknown }
  | { ok: false; status: 400 | 413 | 415; message: string };

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
      message: "Unsupported Media Type: Content-Type must be application/json",
    };
  }
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    return { ok: false, status: 413, message: `Payload Too Large: the body exceeds ${maxBytes} bytes` };
  }
  const body = await readBody(req, maxBytes);
  if (body === undefined) {
    return { ok: false, status: 413, message: `Payload Too Large: the body exceeds ${maxBytes} bytes` };
  }
  try {
    return { ok: true, value: JSON.parse(body.toString("utf8")) };
  } catch {
    return { ok: false, status: 400, message: "Parse error: the body is not valid JSON" };
  }
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
