import type { WatchResponse } from "#gen/supportext/auth/v1/revocation_pb.js";
import type { Logger } from "../log/logger.js";
import { runOutsideCall } from "../propagation/call-scope.js";
import { type BackoffSettings, reconnectDelayMs } from "./reconnect-backoff.js";

export interface FeedSubscriptionOptions {
  /** Opens one Watch stream that ends or fails when `signal` aborts. */
  readonly open: (signal: AbortSignal) => AsyncIterable<WatchResponse>;
  readonly onMessage: (message: WatchResponse) => void;
  readonly logger: Logger;
  readonly reconnect?: BackoffSettings;
}

export interface FeedSubscription {
  /** Aborts the stream held now, if any: the loop opens a new one after its backoff. */
  dropStream(): void;
  /** Ends the loop (the stream and any backoff wait); resolves once it has stopped. Idempotent. */
  close(): Promise<void>;
}

/**
 * Keeps one Watch stream open: when it fails, ends (the server draining) or is dropped, opens
 * another after a jittered, bounded backoff that starts over at each message received.
 */
export function keepSubscribed(options: FeedSubscriptionOptions): FeedSubscription {
  const { logger } = options;
  let closed = false;
  let stream: AbortController | undefined;
  let wakeSleeper: (() => void) | undefined;
  let failingSince: number | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeSleeper = undefined;
        resolve();
      }
      wakeSleeper = done;
    });

  /** One warning per outage; the retries after it only at debug level. */
  const reportFailure = (err: unknown, attempt: number) => {
    if (failingSince === undefined) {
      failingSince = Date.now();
      logger.warn({ err }, "revocation feed stream failed; resubscribing");
    } else {
      logger.debug({ err, attempt }, "revocation feed resubscribe failed");
    }
  };

  const run = async () => {
    let attempt = 0;
    while (!closed) {
      const controller = new AbortController();
      stream = controller;
      try {
        for await (const message of options.open(controller.signal)) {
          attempt = 0;
          failingSince = undefined;
          options.onMessage(message);
        }
        if (!closed) logger.info("revocation feed stream ended by the server; resubscribing");
      } catch (err) {
        if (closed) break;
        if (!controller.signal.aborted) reportFailure(err, attempt);
      } finally {
        if (stream === controller) stream = undefined;
      }
      if (closed) break;
      await sleep(reconnectDelayMs(attempt++, options.reconnect));
    }
  };

  // Outside any call: started from a request, the stream must still not carry that user's token.
  const running = runOutsideCall(run);

  return {
    dropStream: () => stream?.abort(),
    close() {
      if (closed) return running;
      closed = true;
      stream?.abort();
      wakeSleeper?.();
      return running;
    },
  };
}
