import { Code, type ConnectError } from "@connectrpc/connect";
import { scrubSecrets } from "#kit/log/index.js";
import { codeName } from "./code-name.js";

const MAX_TEXT = 500;

/**
 * Raw transport wording that must not reach the model or the user: the MCP SDK's
 * "Error POSTing to endpoint: {"jsonrpc"…}", JSON envelopes, Node socket and HTTP/2 errors.
 */
const RAW_TRANSPORT =
  /Error POSTing|Streamable HTTP error|"jsonrpc"|\{"|\bE(?:CONN[A-Z]+|PIPE|TIMEDOUT|AI_AGAIN)\b|socket hang up|http\/2 stream|\bERR_[A-Z0-9_]+|fetch failed|other side closed/;

/** What a caller may read when a code's own text is unfit to pass on. */
const PLAIN: Partial<Record<Code, string>> = {
  [Code.Unavailable]: "the tool service is unavailable",
  [Code.DeadlineExceeded]: "the tool call timed out",
  [Code.Aborted]: "the connection to the tool service was lost",
  [Code.Canceled]: "the tool call was cancelled",
  [Code.Internal]: "the tool service failed",
  [Code.Unknown]: "the tool service failed",
};

/**
 * The message of a failed tool call as the model and the user see it: the gateway's own words
 * when they are clean, a plain sentence for the code when they are transport noise; never a
 * credential, never more than a few hundred characters (docs/agent.md, "Run"). The code travels
 * beside the text (`error_code`), so a text that starts with the same code name ("not_found: ticket
 * 3 does not exist", as the MCP server words its errors) loses it: each thing is said once. A
 * different reason ("insufficient_scope:" under permission_denied) says more, and stays.
 */
export function toolErrorText(err: ConnectError): string {
  const text = withoutCodePrefix(err.rawMessage.trim(), codeName(err.code));
  if (text === "" || RAW_TRANSPORT.test(text)) return PLAIN[err.code] ?? "the tool call failed";
  return scrubSecrets(text).slice(0, MAX_TEXT);
}

/** `text` without a leading "<code>:" naming `code` again ("not_found: …" under not_found). */
export function withoutCodePrefix(text: string, code: string): string {
  const prefix = /^([a-z_]+)\s*:\s*/.exec(text);
  // The MCP server's reasons are the plural of a few codes ("invalid_arguments" under invalid_argument).
  if (!prefix || prefix[1]?.replace(/s$/, "") !== code.replace(/s$/, "")) return text;
  return text.slice(prefix[0].length);
}
