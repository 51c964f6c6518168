import { Http2UnsupportedError, nodeH2Fetch } from "./node-h2-fetch.js";
import { nodeHttpFetch } from "./node-http-fetch.js";

/**
 * Which HTTP the gateway speaks to the MCP server (`MCP_HTTP_VERSION`, docs/mcp-gateway.md):
 * - `auto` (default): HTTP/2 (`node-h2-fetch.ts`); an origin whose answer to the connection
 *   preface shows it does not speak it is spoken to in HTTP/1.1 from then on — for 5 minutes,
 *   then HTTP/2 is tried again (a server may be replaced by one that does). The request that found
 *   out is sent again over HTTP/1.1: the server never read it as a request;
 * - `1.1`: HTTP/1.1 with keep-alive only (`node-http-fetch.ts`).
 */
export type McpHttpVersion = "auto" | "1.1";

const HTTP1_VERDICT_MS = 5 * 60_000;
const http1Until = new Map<string, number>();

export async function mcpHttpFetch(
  version: McpHttpVersion,
  url: string | URL,
  init: RequestInit & { headers?: Record<string, string> },
  connectTimeoutMs: number,
): Promise<Response> {
  const origin = (typeof url === "string" ? new URL(url) : url).origin;
  if (version === "1.1" || (http1Until.get(origin) ?? 0) > Date.now()) {
    return nodeHttpFetch(url, init, connectTimeoutMs);
  }
  try {
    return await nodeH2Fetch(url, init, connectTimeoutMs);
  } catch (err) {
    if (!(err instanceof Http2UnsupportedError)) throw err;
    http1Until.set(origin, Date.now() + HTTP1_VERDICT_MS);
    return nodeHttpFetch(url, init, connectTimeoutMs);
  }
}
