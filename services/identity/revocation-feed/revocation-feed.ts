import type { WatchResponse } from "#gen/supportext/auth/v1/revocation_pb.js";
import type { Logger } from "#kit/log/index.js";
import type { RemovedKeyList } from "../keys/removed-key-list.js";
import type { RevocationList } from "../sessions/revocation-list.js";
import { stopHeartbeatIfIdle } from "./feed-heartbeat.js";
import { removedKeyMessage, revocationMessage } from "./feed-messages.js";
import { type FeedState, push, wake } from "./feed-state.js";
import { subscribe } from "./feed-subscription.js";

export interface RevocationFeedOptions {
  /** The edge's revocation list: its snapshot and every session entering it are what the feed sends. */
  readonly list: RevocationList;
  /** The signing keys removed lately: in the snapshot, and each one entering the list sent live. */
  readonly removedKeys: RemovedKeyList;
  readonly logger: Logger;
  /** REVOCATION_HEARTBEAT: an empty message this often, so subscribers tell a quiet feed from a dead one. */
  readonly heartbeatMs: number;
  /**
   * Messages one subscriber may have waiting. Beyond it the subscriber is too slow to be worth
   * queueing for: its stream fails (resource_exhausted), its queue is dropped, and it resubscribes
   * for a fresh snapshot — which holds every revocation it would have been sent.
   */
  readonly maxQueuedMessages?: number;
  /** Sessions per snapshot message, far below the 4 MiB message limit (~60 bytes per session). */
  readonly snapshotChunkSize?: number;
}

/** The identity provider's side of `RevocationService.Watch`, for any number of subscribers. */
export interface RevocationFeed {
  /**
   * One subscriber's messages: the snapshot (`snapshot: true`, every session the list remembers,
   * split into several such messages when large, and every removed key), then one message per
   * revocation or key removal and a
   * heartbeat. Ends cleanly when `signal` aborts (client gone, server draining) or the feed closes;
   * fails with `resource_exhausted` when the subscriber falls `maxQueuedMessages` behind, and with
   * `unavailable` when subscribing to a closed feed or with an aborted signal.
   */
  subscribe(signal: AbortSignal): AsyncGenerator<WatchResponse>;
  readonly subscriberCount: number;
  /** Messages waiting per subscriber (diagnostics and tests). */
  queueDepths(): number[];
  /** Ends every stream, refuses new ones, stops the heartbeat. Idempotent. */
  close(): void;
}

/**
 * Fan-out without head-of-line blocking: each subscriber has its own bounded queue, filled
 * synchronously when a session enters the list and drained by its own stream at its own pace, so
 * a slow subscriber delays nobody and holds at most `maxQueuedMessages` messages (plus what its
 * HTTP/2 flow-control window buffers) before it is cut off. Messages are immutable and shared.
 */
export function createRevocationFeed(options: RevocationFeedOptions): RevocationFeed {
  const state: FeedState = {
    list: options.list,
    removedKeys: options.removedKeys,
    logger: options.logger,
    heartbeatMs: options.heartbeatMs,
    maxQueued: options.maxQueuedMessages ?? 1_000,
    chunkSize: options.snapshotChunkSize ?? 10_000,
    subscribers: new Set(),
    closed: false,
    heartbeat: undefined,
  };
  const send = (message: WatchResponse) => {
    for (const sub of state.subscribers) push(state, sub, message);
  };
  const unsubscribeList = options.list.onAdded((entry) => send(revocationMessage(entry)));
  const unsubscribeKeys = options.removedKeys.onAdded((key) => send(removedKeyMessage(key)));

  return {
    subscribe: (signal) => subscribe(state, signal),
    get subscriberCount() {
      return state.subscribers.size;
    },
    queueDepths: () => [...state.subscribers].map((s) => s.queue.length),
    close() {
      if (state.closed) return;
      state.closed = true;
      unsubscribeList();
      unsubscribeKeys();
      for (const sub of state.subscribers) {
        sub.ended = true;
        wake(sub);
      }
      state.subscribers.clear();
      stopHeartbeatIfIdle(state);
    },
  };
}
