import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type RevokedSession,
  RevokedSessionSchema,
  type WatchResponse,
  WatchResponseSchema,
} from "../../../gen/supportext/auth/v1/revocation_pb.js";
import type { Logger } from "../../kit/log/index.js";
import type { RevocationList, RevokedEntry } from "../sessions/revocation-list.js";

export interface RevocationFeedOptions {
  /** The edge's revocation list: its snapshot and every session entering it are what the feed sends. */
  readonly list: RevocationList;
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
   * split into several such messages when large), then one message per revocation and a
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

interface Subscriber {
  queue: WatchResponse[];
  wake: (() => void) | undefined;
  failure: ConnectError | undefined;
  ended: boolean;
}

const HEARTBEAT: WatchResponse = create(WatchResponseSchema, {});

function toProto(entry: RevokedEntry): RevokedSession {
  return create(RevokedSessionSchema, {
    sessionId: entry.sessionId,
    revokedAtMs: BigInt(entry.revokedAt.getTime()),
    reason: entry.reason,
  });
}

/**
 * Fan-out without head-of-line blocking: each subscriber has its own bounded queue, filled
 * synchronously when a session enters the list and drained by its own stream at its own pace, so
 * a slow subscriber delays nobody and holds at most `maxQueuedMessages` messages (plus what its
 * HTTP/2 flow-control window buffers) before it is cut off. Messages are immutable and shared.
 */
export function createRevocationFeed(options: RevocationFeedOptions): RevocationFeed {
  const { list, logger } = options;
  const maxQueued = options.maxQueuedMessages ?? 1_000;
  const chunkSize = options.snapshotChunkSize ?? 10_000;
  const subscribers = new Set<Subscriber>();
  let closed = false;
  let heartbeat: NodeJS.Timeout | undefined;

  const wake = (sub: Subscriber) => {
    const w = sub.wake;
    sub.wake = undefined;
    w?.();
  };

  const push = (sub: Subscriber, message: WatchResponse) => {
    if (sub.queue.length >= maxQueued) {
      subscribers.delete(sub);
      sub.queue = [];
      sub.failure = new ConnectError(
        `revocation feed: subscriber ${maxQueued} messages behind; resubscribe for a fresh snapshot`,
        Code.ResourceExhausted,
      );
      logger.warn({ queued: maxQueued }, "revocation feed subscriber too slow: its stream is ended");
    } else {
      sub.queue.push(message);
    }
    wake(sub);
  };

  const unsubscribeList = list.onAdded((entry) => {
    const message = create(WatchResponseSchema, { sessions: [toProto(entry)] });
    for (const sub of subscribers) push(sub, message);
  });

  const startHeartbeat = () => {
    if (heartbeat) return;
    heartbeat = setInterval(() => {
      // A subscriber with messages waiting will hear from us anyway; don't grow its queue.
      for (const sub of subscribers) if (sub.queue.length === 0) push(sub, HEARTBEAT);
    }, options.heartbeatMs);
    heartbeat.unref();
  };
  const stopHeartbeatIfIdle = () => {
    if (subscribers.size > 0 || !heartbeat) return;
    clearInterval(heartbeat);
    heartbeat = undefined;
  };

  const snapshot = (): WatchResponse[] => {
    const sessions = list.entries().map(toProto);
    const messages: WatchResponse[] = [];
    for (let i = 0; i === 0 || i < sessions.length; i += chunkSize) {
      messages.push(
        create(WatchResponseSchema, { snapshot: true, sessions: sessions.slice(i, i + chunkSize) }),
      );
    }
    return messages;
  };

  return {
    async *subscribe(signal) {
      if (closed || signal.aborted) {
        throw new ConnectError("the revocation feed is shutting down; resubscribe", Code.Unavailable);
      }
      // Snapshot and registration in one synchronous step: a revocation is either in the snapshot
      // or queued after it, never lost in between.
      const sub: Subscriber = { queue: snapshot(), wake: undefined, failure: undefined, ended: false };
      subscribers.add(sub);
      startHeartbeat();
      const onAbort = () => {
        sub.ended = true;
        wake(sub);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      logger.debug({ subscribers: subscribers.size }, "revocation feed subscriber joined");
      try {
        for (;;) {
          if (sub.failure) throw sub.failure;
          if (sub.ended) return;
          const next = sub.queue.shift();
          if (next) {
            yield next;
            continue;
          }
          await new Promise<void>((resolve) => {
            sub.wake = resolve;
          });
        }
      } finally {
        signal.removeEventListener("abort", onAbort);
        subscribers.delete(sub);
        stopHeartbeatIfIdle();
      }
    },
    get subscriberCount() {
      return subscribers.size;
    },
    queueDepths: () => [...subscribers].map((s) => s.queue.length),
    close() {
      if (closed) return;
      closed = true;
      unsubscribeList();
      for (const sub of subscribers) {
        sub.ended = true;
        wake(sub);
      }
      subscribers.clear();
      stopHeartbeatIfIdle();
    },
  };
}
