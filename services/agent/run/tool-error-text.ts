import { Code, type ConnectError } from "@connectrpc/connect";
import { scrubSecrets } from "../../kit/log/scrub.js";

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
 * credential, never more than a few hundred characters (docs/agent.md, "Run").
 */
export function toolErrorText(err: ConnectError): string {
  const text = err.rawMessage.trim();
  if (text === "" || RAW_TRANSPORT.test(text)) return PLAIN[err.code] ?? "the tool call failed";
  return scrubSecrets(text).slice(0, MAX_TEXT);
}
