import { Code, ConnectError } from "@connectrpc/connect";
import { backoffDelayMs, REFUSED_CONNECTION_BACKOFF, sleep } from "#kit/retry/index.js";

/** Codes a lost connection to the gateway (reset, closed stream, timeout) arrives as. */
const LOST: ReadonlySet<Code> = new Set([
  // A stream reset by a gateway that died arrives as `canceled`; our own cancellation (the
  // caller gone) is told apart by the run's signal, which is checked first.
  Code.Canceled,
  Code.Unavailable,
  Code.Aborted,
  Code.Unknown,
  Code.Internal,
  Code.DeadlineExceeded,
]);

export const UNCONFIRMED =
  "the connection to the tool service was lost and a retry could not confirm the outcome: the change may or may not have been made";

/**
 * Runs a keyed tool call, and after a lost connection runs it once more with the same key
 * (docs/mcp-gateway.md, "Faults"): the MCP server answers a repeat of the key with the first
 * call's result, so a change that was made is reported as made. While the connection keeps being
 * lost (refused, reset, `unavailable` from a restarting gateway), the retry is tried again, with
 * backoff, within `recoveryMs`; only then is the outcome reported as unconfirmed.
 * Without a key, or once the caller has gone, a failure is returned as it is.
 */
export async function withKeyedRetry<T>(
  call: () => Promise<T>,
  options: { readonly keyed: boolean; readonly signal: AbortSignal; readonly recoveryMs: number },
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const first = ConnectError.from(err);
    if (!options.keyed || options.signal.aborted || !LOST.has(first.code) || refusedLocally(first)) throw err;
  }
  const deadline = performance.now() + options.recoveryMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const ce = ConnectError.from(err);
      // While a restarting gateway still refuses connections.
      const pause = backoffDelayMs(attempt, REFUSED_CONNECTION_BACKOFF);
      // Any lost connection again — refused (nothing reached the gateway), `unavailable` (the gateway,
      // or the MCP server behind it, is still coming back), or a reset on a connection the killed
      // gateway left behind: with the same key, asking again cannot change anything twice, and only
      // the MCP server's answer to the key says what happened (docs/mcp-gateway.md, "Faults").
      const again = refusedLocally(ce) || LOST.has(ce.code);
      if (!again || options.signal.aborted || performance.now() + pause > deadline) {
        throw LOST.has(ce.code) ? new ConnectError(UNCONFIRMED, ce.code) : err;
      }
      await sleep(pause, options.signal);
    }
  }
}

/** The connection to the gateway itself was refused: the request never left this process. */
export function refusedLocally(err: ConnectError): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === "object"; depth++) {
    if ((e as { code?: unknown }).code === "ECONNREFUSED") return true;
    e = (e as { cause?: unknown }).cause;
  }
  return /\bECONNREFUSED\b/.test(err.rawMessage);
}
