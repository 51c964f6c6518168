import { Code, ConnectError } from "@connectrpc/connect";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { scrubSecrets } from "../kit/log/scrub.js";
import { causeCode } from "./session/mcp-session.js";
import { TokenExchangeError } from "./token/token-exchange-client.js";

const MAX_MESSAGE = 500;

function clean(message: string): string {
  return scrubSecrets(message).slice(0, MAX_MESSAGE);
}

/**
 * Maps a failure on the MCP hop to the Connect code the caller should see (brief §6), with the
 * MCP server's own message (scrubbed of credentials) and never a stack trace.
 */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof TokenExchangeError) {
    switch (err.error) {
      case "invalid_grant":
        return new ConnectError(clean(err.message), Code.Unauthenticated);
      case "invalid_scope":
        return new ConnectError(clean(err.message), Code.PermissionDenied);
      case "unreachable":
      case "temporarily_unavailable":
        return new ConnectError(clean(err.message), Code.Unavailable);
      default:
        // invalid_client / invalid_target: the gateway's own configuration is wrong.
        return new ConnectError(clean(err.message), Code.Internal);
    }
  }
  if (err instanceof StreamableHTTPError) {
    const body = clean(err.message.replace(/^Streamable HTTP error: /, ""));
    switch (err.code) {
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
        return new ConnectError(`MCP server error (HTTP ${err.code}): ${body}`, Code.Unavailable);
    }
  }
  if (err instanceof McpError) {
    switch (err.code) {
      case ErrorCode.RequestTimeout:
        return new ConnectError(`MCP call timed out: ${clean(err.message)}`, Code.DeadlineExceeded);
      case ErrorCode.ConnectionClosed:
        return new ConnectError("MCP connection closed", Code.Unavailable);
      case ErrorCode.InvalidParams:
        return new ConnectError(clean(err.message), /not found/i.test(err.message) ? Code.NotFound : Code.InvalidArgument);
      case ErrorCode.MethodNotFound:
        return new ConnectError(clean(err.message), Code.Unimplemented);
      default:
        return new ConnectError(clean(err.message), Code.Internal);
    }
  }
  const code = causeCode(err);
  if (code === "ECONNREFUSED" || code === "ECONNRESET" || code === "UND_ERR_SOCKET" || code === "UND_ERR_CONNECT_TIMEOUT") {
    return new ConnectError(`MCP server unreachable (${code})`, Code.Unavailable);
  }
  if (err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError")) {
    return new ConnectError("MCP call cancelled or timed out", Code.DeadlineExceeded);
  }
  return new ConnectError("MCP call failed", Code.Internal);
}

/**
 * A tool result with `isError` is the tool's own failure. The kinds a caller must be able to tell
 * apart become Connect codes; anything else stays a tool-level error in the response.
 * Recognised: the SDK's unknown-tool and input-validation texts, and our MCP server's
 * "<reason>: message" prefixes (brief §5).
 */
export function classifyToolError(text: string): Code | undefined {
  if (/\bTool \S+ not found\b/.test(text) || /^unknown_tool\b/.test(text)) return Code.NotFound;
  if (/Input validation error|^invalid_argument\b/.test(text)) return Code.InvalidArgument;
  if (/^insufficient_scope\b/.test(text)) return Code.PermissionDenied;
  if (/^not_found\b/.test(text)) return Code.NotFound;
  if (/^failed_precondition\b/.test(text)) return Code.FailedPrecondition;
  return undefined;
}
