import { Code, ConnectError } from "@connectrpc/connect";
import {
  InsufficientScopeError,
  ProtocolError,
  ProtocolErrorCode,
  SdkError,
  SdkErrorCode,
  SdkHttpError,
} from "@modelcontextprotocol/client";
import { scrubSecrets } from "#kit/log/index.js";
import { causeCode } from "./session/failure-kinds.js";
import { TokenExchangeError } from "./token/token-exchange-client.js";
import { isSdkTransportText, readableUpstreamText, sdkStatusOf } from "./upstream-text.js";

const MAX_MESSAGE = 500;

function clean(message: string): string {
  return scrubSecrets(message).slice(0, MAX_MESSAGE);
}

/**
 * Maps a failure on the MCP hop to the Connect code the caller should see (docs/mcp-gateway.md), with the
 * MCP server's own message (scrubbed of credentials) and never a stack trace.
 */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof TokenExchangeError) return fromTokenExchange(err);
  if (err instanceof InsufficientScopeError) {
    // The MCP server's step-up challenge (403 insufficient_scope): the user's token lacks the scope.
    const why = err.errorDescription ?? `the call requires scope "${err.requiredScope ?? "unknown"}"`;
    return new ConnectError(`MCP server refused the call: ${clean(why)}`, Code.PermissionDenied);
  }
  if (err instanceof SdkHttpError) {
    // The server's own body when the SDK kept it (its message may be only its summary).
    const body = err.data.text;
    return fromHttpStatus(err.status, typeof body === "string" && body.trim() ? body : err.message);
  }
  if (err instanceof Error && isSdkTransportText(err.message)) {
    // Another client version's wording of the same failure: never passed on raw.
    return fromHttpStatus(sdkStatusOf(err.message) ?? httpStatusOf(err) ?? 0, err.message);
  }
  if (err instanceof SdkError) {
    switch (err.code) {
      case SdkErrorCode.RequestTimeout:
        return new ConnectError("MCP call timed out", Code.DeadlineExceeded);
      case SdkErrorCode.ConnectionClosed:
      case SdkErrorCode.NotConnected:
        return new ConnectError("MCP connection closed", Code.Unavailable);
      case SdkErrorCode.EraNegotiationFailed:
        // A pinned revision the server does not offer, or a probe that got no usable answer (the
        // server starting, 5xx, a network failure): either way, try again later or check the pin.
        return new ConnectError(
          `MCP protocol negotiation with the MCP server failed (${readableUpstreamText(err.message)}); MCP_PROTOCOL_VERSION is "auto" or the one revision it pins`,
          Code.Unavailable,
        );
    }
  }
  if (err instanceof ProtocolError) {
    switch (err.code) {
      case ProtocolErrorCode.InvalidParams:
        return new ConnectError(
          clean(err.message),
          /not found|unknown tool/i.test(err.message) ? Code.NotFound : Code.InvalidArgument,
        );
      case ProtocolErrorCode.MethodNotFound:
        return new ConnectError(clean(err.message), Code.Unimplemented);
      default:
        return new ConnectError(clean(err.message), Code.Internal);
    }
  }
  const code = causeCode(err);
  if (
    code === "ECONNREFUSED" ||
    code === "ECONNRESET" ||
    code === "UND_ERR_SOCKET" ||
    code === "UND_ERR_CONNECT_TIMEOUT"
  ) {
    return new ConnectError(`MCP server unreachable (${code})`, Code.Unavailable);
  }
  if (err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError")) {
    return new ConnectError("MCP call cancelled or timed out", Code.DeadlineExceeded);
  }
  return new ConnectError("MCP call failed", Code.Internal);
}

/** A failed token exchange (docs/mcp-gateway.md, "Faults" and "Deadlines"). */
function fromTokenExchange(err: TokenExchangeError): ConnectError {
  switch (err.error) {
    case "invalid_grant":
      return new ConnectError(clean(err.message), Code.Unauthenticated);
    case "invalid_scope":
      return new ConnectError(clean(err.message), Code.PermissionDenied);
    // Nothing accepts the connection: an outage.
    case "unreachable":
    case "temporarily_unavailable":
      return new ConnectError(clean(err.message), Code.Unavailable);
    // Connected, and no answer within the call's deadline.
    case "timed_out":
      return new ConnectError(clean(err.message), Code.DeadlineExceeded);
    case "cancelled":
      return new ConnectError(clean(err.message), Code.Canceled);
    default:
      // invalid_client / invalid_target: the gateway's own configuration is wrong.
      return new ConnectError(clean(err.message), Code.Internal);
  }
}

/** An HTTP answer of the MCP server, with what it said in readable words (never the SDK's raw text). */
function fromHttpStatus(status: number, message: string): ConnectError {
  const body = readableUpstreamText(message);
  switch (status) {
    case 401:
      return new ConnectError(`MCP server refused the credential: ${body}`, Code.Unauthenticated);
    case 403:
      return new ConnectError(`MCP server refused the call: ${body}`, Code.PermissionDenied);
    case 400:
      return new ConnectError(`MCP server rejected the request: ${body}`, Code.InvalidArgument);
    case 404:
      return new ConnectError("MCP session expired and could not be re-established", Code.Unavailable);
    case 429:
      return new ConnectError(`MCP server is rate limiting: ${body}`, Code.ResourceExhausted);
    default:
      return new ConnectError(
        `MCP server error (${status > 0 ? `HTTP ${status}` : "no HTTP status"}): ${body}`,
        Code.Unavailable,
      );
  }
}

function httpStatusOf(err: Error): number | undefined {
  const status = (err as { status?: unknown; code?: unknown }).status ?? (err as { code?: unknown }).code;
  return typeof status === "number" && status >= 100 && status < 600 ? status : undefined;
}

/**
 * A tool result with `isError` is the tool's own failure. Our MCP server words them
 * "<reason>: message" (docs/mcp-server.md); the reasons a caller must tell apart become Connect codes, and
 * any other tool error stays a tool-level error in the response. The SDK's own texts for an unknown
 * tool or invalid input are recognised too, for MCP servers that are not ours.
 */
const TOOL_ERROR_CODES: Record<string, Code> = {
  insufficient_scope: Code.PermissionDenied,
  // The acting agent's allow-list (the exchanged token's agent_tools) lacks the tool.
  agent_not_allowed: Code.PermissionDenied,
  invalid_arguments: Code.InvalidArgument,
  invalid_argument: Code.InvalidArgument,
  unknown_user: Code.InvalidArgument,
  not_found: Code.NotFound,
  unknown_tool: Code.NotFound,
  invalid_transition: Code.FailedPrecondition,
  // A destructive tool whose client cannot ask the user (docs/mcp-server.md, "Confirmation before destruction").
  // `cancelled_by_user` stays a tool-level error: the caller itself sent that no.
  confirmation_unavailable: Code.FailedPrecondition,
  model_unavailable: Code.Unavailable,
  internal_error: Code.Internal,
};

export function classifyToolError(text: string): Code | undefined {
  const reason = /^([a-z_]+):/.exec(text)?.[1];
  if (reason && reason in TOOL_ERROR_CODES) return TOOL_ERROR_CODES[reason];
  if (/\bTool \S+ not found\b|Unknown tool/.test(text)) return Code.NotFound;
  if (/Input validation error/.test(text)) return Code.InvalidArgument;
  return undefined;
}
