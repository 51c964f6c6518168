import { Code, ConnectError } from "@connectrpc/connect";
import type { WatchResponse } from "#gen/supportext/auth/v1/revocation_pb.js";
import type { Logger } from "#kit/log/index.js";
import type { RemovedKeyList } from "../keys/removed-key-list.js";
import type { RevocationList } from "../sessions/revocation-list.js";

/** One stream's own bounded queue, drained at its own pace. */
export interface Subscriber {
  queue: WatchResponse[];
  wake: (() => void) | undefined;
  failure: ConnectError | undefined;
  ended: boolean;
}

/** What every operation of one feed reads and updates. */
export interface FeedState {
  readonly list: RevocationList;
  readonly removedKeys: RemovedKeyList;
  readonly logger: Logger;
  readonly heartbeatMs: number;
  readonly maxQueued: number;
  readonly chunkSize: number;
  readonly subscribers: Set<Subscriber>;
  closed: boolean;
  heartbeat: NodeJS.Timeout | undefined;
}

/** Resumes a subscriber's stream waiting for its next message, if it waits. */
export function wake(sub: Subscriber): void {
  const w = sub.wake;
  sub.wake = undefined;
  w?.();
}

/**
 * Queues a message for one subscriber; one already `maxQueued` behind is cut off instead (its
 * stream fails with `resource_exhausted`, its queue is dropped).
 */
export function push(state: FeedState, sub: Subscriber, message: WatchResponse): void {
  if (sub.queue.length >= state.maxQueued) {
    state.subscribers.delete(sub);
    sub.queue = [];
    sub.failure = new ConnectError(
      `revocation feed: subscriber ${state.maxQueued} messages behind; resubscribe for a fresh snapshot`,
      Code.ResourceExhausted,
    );
    state.logger.warn(
      { queued: state.maxQueued },
      "revocation feed subscriber too slow: its stream is ended",
    );
  } else {
    sub.queue.push(message);
  }
  wake(sub);
}
