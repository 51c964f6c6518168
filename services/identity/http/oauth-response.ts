import type { HttpResponse } from "#kit/server/index.js";

/**
 * RFC 6749 §5.2 error codes this endpoint answers with, plus RFC 8707's invalid_target and RFC 6749
 * §4.1.2.1's temporarily_unavailable: HTTP 429 for a failed client authentication from a throttled
 * address, 503 when the agent registry can't be asked.
 */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "invalid_scope"
  | "invalid_target"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "server_error"
  | "temporarily_unavailable";

/** A refusal of the token endpoint: status, RFC 6749 error code and a human-readable description. */
export class OAuthError extends Error {
  override readonly name = "OAuthError";
  constructor(
    readonly status: number,
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`${error}: ${description}`);
  }
}

export const invalidRequest = (description: string) => new OAuthError(400, "invalid_request", description);

/** Token responses carry credentials: never cached by anyone (RFC 6749 §5.1). */
const NO_STORE = { "cache-control": "no-store", pragma: "no-cache" };

export function sendJson(
  res: HttpResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  writeJson(res, status, body, { ...NO_STORE, ...headers });
}

/** A JSON body with exactly these headers (callers choose the caching and CORS policy). */
export function writeJson(
  res: HttpResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>>,
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(payload)),
    ...headers,
  });
  res.end(payload);
}

export function sendOAuthError(res: HttpResponse, err: OAuthError): void {
  sendJson(res, err.status, { error: err.error, error_description: err.description }, err.headers);
}
