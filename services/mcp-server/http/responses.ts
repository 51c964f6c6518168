import type { HttpResponse } from "#kit/server/index.js";

export function sendJson(
  res: HttpResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

/** JSON-RPC error codes this server uses besides the standard ones. */
export const RPC = {
  parseError: -32700,
  invalidRequest: -32600,
  invalidParams: -32602,
  /** The SDK's code for transport-level problems (missing session header …). */
  serverError: -32000,
  /** The SDK's code for an unknown or closed session. */
  sessionNotFound: -32001,
  /** Forbidden: scope, session owner, origin. */
  forbidden: -32003,
} as const;

/** A JSON-RPC error response carried in an HTTP error, as the SDK's transport answers. */
export function sendRpcError(
  res: HttpResponse,
  status: number,
  code: number,
  message: string,
  options: { id?: string | number | null; data?: unknown; headers?: Record<string, string> } = {},
): void {
  sendJson(
    res,
    status,
    {
      jsonrpc: "2.0",
      error: { code, message, ...(options.data !== undefined ? { data: options.data } : {}) },
      id: options.id ?? null,
    },
    options.headers,
  );
}
