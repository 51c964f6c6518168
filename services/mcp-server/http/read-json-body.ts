import type { IncomingMessage } from "node:http";

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
 * A request that fails or closes before its end rejects, as the iterator did.
 */
function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (done: () => void) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
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
    const onEnd = () =>
      settle(() => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    const onError = (err: Error) => settle(() => reject(err));
    const onClose = () => settle(() => reject(new Error("the request closed before its body ended")));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}
