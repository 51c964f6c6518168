import type { HttpRequest, HttpResponse } from "../../kit/server/service-server.js";
import { writeJson } from "../http/oauth-response.js";

/** Reads a request body up to `maxBytes`; undefined when it is larger. */
export async function readBody(req: HttpRequest, maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function headerOf(req: HttpRequest, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * JSON for MCP clients, which may run in a browser on any origin (MCP Inspector): public
 * documents and credential-free endpoints answer with `Access-Control-Allow-Origin: *`. No cookie
 * or ambient credential is ever honoured on these endpoints, so `*` grants nothing.
 */
export function sendPublicJson(
  res: HttpResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  writeJson(res, status, body, { "access-control-allow-origin": "*", ...headers });
}

/** Answers a method the route doesn't serve. */
export function methodNotAllowed(res: HttpResponse, allow: string): void {
  sendPublicJson(res, 405, { error: "invalid_request", error_description: `use ${allow}` }, { allow });
}
