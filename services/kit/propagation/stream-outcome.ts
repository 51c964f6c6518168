import type { ConnectError } from "@connectrpc/connect";
import { type Context, context } from "@opentelemetry/api";

/** How a call ended, each reported once: the call context interceptor's log line, span and metrics. */
export interface CallOutcomes {
  succeeded(): void;
  /** Reports the failure and returns what the caller may see of it. */
  failed(err: unknown): ConnectError;
  /** The client went away or the deadline passed: reports that and returns it as an error. */
  interrupted(): ConnectError;
}

/**
 * `messages`, each pulled with `ctx` active: a streaming handler's body runs when its messages are
 * pulled, outside the interceptor's own `context.with`.
 */
export async function* pulledIn<T>(ctx: Context, messages: AsyncIterable<T>): AsyncGenerator<T> {
  const it = messages[Symbol.asyncIterator]();
  let done = false;
  try {
    for (;;) {
      const r = await context.with(ctx, () => it.next());
      if (r.done) {
        done = true;
        return;
      }
      yield r.value;
    }
  } catch (err) {
    done = true;
    throw err;
  } finally {
    // The consumer stopped early: end the handler as `yield*` would.
    if (!done) await context.with(ctx, async () => it.return?.());
  }
}

/**
 * Passes a response stream through and reports, once, how it ended: every message sent, an error
 * (rethrown as `failed` makes it), or interrupted (client gone, deadline passed, consumer stopped).
 */
export async function* reportStreamEnd<T>(
  messages: AsyncIterable<T>,
  signal: AbortSignal,
  report: CallOutcomes,
): AsyncGenerator<T> {
  let ended = false;
  try {
    yield* messages;
    ended = true;
  } catch (err) {
    ended = true;
    // A write to a closed stream fails too; that is the interruption, not a bug of the handler.
    throw signal.aborted ? report.interrupted() : report.failed(err);
  } finally {
    if (!ended) report.interrupted(); // the consumer stopped pulling
  }
  if (signal.aborted) report.interrupted();
  else report.succeeded();
}
