import type { IncomingMessage } from "node:http";

/**
 * The request the SDK's `isLegacyRequest` classifies, given the body we already parsed: its
 * method and headers only. With a parsed body the SDK reads neither the request's body nor clones
 * it, so building one (`toWebRequest(req, body)` serialized the parsed body back to JSON and
 * measured its UTF-8 length on every call, only for the adapter to do it again when serving) was
 * pure cost (docs/performance.md, "Per-call breakdown: MCP server").
 */
export function classificationRequest(req: IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name.startsWith(":")) continue;
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else headers.set(name, value);
  }
  return new Request(`http://localhost${req.url ?? "/"}`, { method: req.method ?? "GET", headers });
}
