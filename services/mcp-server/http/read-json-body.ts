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
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      req.resume();
      return { ok: false, status: 413, message: `Payload Too Large: the body exceeds ${maxBytes} bytes` };
    }
    chunks.push(chunk as Buffer);
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString("utf8")) };
  } catch {
    return { ok: false, status: 400, message: "Parse error: the body is not valid JSON" };
  }
}
