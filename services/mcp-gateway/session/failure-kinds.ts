import {
  ProtocolError,
  ProtocolErrorCode,
  SdkError,
  SdkErrorCode,
  SdkHttpError,
} from "@modelcontextprotocol/client";

// How a failed MCP request failed, and so whether it may be sent again (docs/mcp-gateway.md,
// "Faults").

/**
 * Whether a failed request may be sent again on a fresh session:
 * - 404 on the session id: the server rejected it before running anything — always safe;
 * - connection refused or not connected in time: it never reached the server — always safe;
 * - other transport failures (reset mid-request): only for idempotent tools and keyed writes;
 * - a timeout or closed connection, where the server may still run the call: only for keyed
 *   writes, whose repeat the server answers with the first result (or waits for it).
 */
export function isRetryable(err: unknown, idempotent: boolean, keyed: boolean): boolean {
  if (err instanceof SdkHttpError) return err.status === 404;
  if (neverReachedServer(err)) return true;
  const code = causeCode(err);
  if (code === "ECONNRESET" || code === "UND_ERR_SOCKET" || code === "EPIPE" || code === "ECONNABORTED") {
    return idempotent || keyed;
  }
  if (err instanceof SdkError) {
    return keyed && (err.code === SdkErrorCode.RequestTimeout || err.code === SdkErrorCode.ConnectionClosed);
  }
  return false;
}

/** Refused, or not connected within the connect bound: the request never reached the server. */
export function neverReachedServer(err: unknown): boolean {
  const code = causeCode(err);
  return code === "ECONNREFUSED" || code === "UND_ERR_CONNECT_TIMEOUT";
}

export function causeCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e && typeof e === "object"; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function describe(err: unknown): string {
  if (err instanceof SdkHttpError) return `HTTP ${err.status}`;
  return causeCode(err) ?? (err instanceof Error ? err.name : "error");
}

/**
 * Whether a request failed because the adopted verdict is stale (the server was replaced by one
 * that speaks another revision): refused before anything ran, so always safe to send again.
 */
export function isStaleEra(err: unknown): boolean {
  if (err instanceof ProtocolError) return err.code === UNSUPPORTED_PROTOCOL_VERSION;
  return err instanceof SdkHttpError && (err.status === 400 || err.status === 404);
}

const UNSUPPORTED_PROTOCOL_VERSION = -32022;

/** The SDK's refusal of an echoed `requestState` (bad signature, expired, another principal's). */
export function isInvalidRequestState(err: unknown): boolean {
  if (!(err instanceof ProtocolError) || err.code !== ProtocolErrorCode.InvalidParams) return false;
  const data = err.data as { reason?: unknown } | undefined;
  return data?.reason === "invalid_request_state" || /invalid or expired requeststate/i.test(err.message);
}
