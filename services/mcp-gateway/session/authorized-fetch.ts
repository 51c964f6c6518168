import { outgoingCallHeaders } from "#kit/propagation/index.js";
import { untilAborted } from "#kit/retry/index.js";
import type { McpTokenSource, TokenSubject } from "../token/mcp-token-source.js";
import { type McpHttpVersion, mcpHttpFetch } from "./mcp-http-fetch.js";

export interface AuthorizedFetchOptions {
  readonly tokenSource: McpTokenSource;
  readonly connectTimeoutMs: number;
  /** HTTP/2 when the server speaks it, or HTTP/1.1 only (`MCP_HTTP_VERSION`). */
  readonly httpVersion: McpHttpVersion;
}

/**
 * The SDK transport's fetch: every request to the MCP server carries the token exchanged for the
 * session's subject (docs/mcp-gateway.md, "From metadata to the `Authorization` header") and the caller's trace.
 */
export async function authorizedFetch(
  options: AuthorizedFetchOptions,
  subject: TokenSubject,
  url: string | URL,
  init?: RequestInit,
): Promise<Response> {
  // One plain object for node:http and node:http2, built once from the SDK's headers (docs/performance.md).
  const headers: Record<string, string> = {};
  const given = init?.headers instanceof Headers ? init.headers : new Headers(init?.headers);
  given.forEach((value, name) => {
    headers[name] = value;
  });
  const token = await untilAborted(options.tokenSource.tokenFor(subject), init?.signal ?? undefined);
  if (token) headers.authorization = `Bearer ${token}`;
  // Carry the caller's trace (this request's client span) into the MCP server's spans, logs and audit rows.
  Object.assign(headers, outgoingCallHeaders());
  return mcpHttpFetch(options.httpVersion, url, { ...init, headers }, options.connectTimeoutMs);
}
