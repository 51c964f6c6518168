import { Code, type ConnectError } from "@connectrpc/connect";

/**
 * The connection to the agent failed under the turn: connect-node's own words for a refused,
 * reset or dropped connection (anchored, so an error the agent itself sent — which may quote such
 * words after its own prefix — is never taken for one).
 */
const LOST =
  /^(?:connect ECONNREFUSED|read ECONNRESET|write EPIPE|socket hang up|http\/2 stream closed|.{0,40}RST_STREAM|stream closed|premature close|the operation was aborted)/i;

/**
 * connect-es's words when a Connect stream's body ends without its end message: the connection was
 * closed under it — a balancer ending the response cleanly once the agent behind it died — never
 * something an agent sends.
 */
const CUT_STREAM = /^protocol error: missing EndStreamResponse$/;

export function agentLost(err: ConnectError): boolean {
  if (err.code === Code.InvalidArgument && CUT_STREAM.test(err.rawMessage)) return true;
  const transportCode = [Code.Unavailable, Code.Canceled, Code.Internal, Code.Unknown].includes(err.code);
  return transportCode && LOST.test(err.rawMessage);
}
