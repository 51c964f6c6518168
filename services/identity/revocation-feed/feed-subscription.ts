import { Code, ConnectError } from "@connectrpc/connect";
import type { WatchResponse } from "#gen/supportext/auth/v1/revocation_pb.js";
import { startHeartbeat, stopHeartbeatIfIdle } from "./feed-heartbeat.js";
import { snapshotMessages } from "./feed-messages.js";
import { type FeedState, type Subscriber, wake } from "./feed-state.js";

/** One subscriber's stream: its snapshot, then what is queued for it, until it ends or fails. */
export async function* subscribe(state: FeedState, signal: AbortSignal): AsyncGenerator<WatchResponse> {
  if (state.closed || signal.aborted) {
    throw new ConnectError("the revocation feed is shutting down; resubscribe", Code.Unavailable);
  }
  // Snapshot and registration in one synchronous step: a revocation or key removal is either in the snapshot
  // or queued after it, never lost in between.
  const sub: Subscriber = {
    queue: snapshotMessages(state.list, state.removedKeys, state.chunkSize),
    wake: undefined,
    failure: undefined,
    ended: false,
  };
  state.subscribers.add(sub);
  startHeartbeat(state);
  const onAbort = () => {
    sub.ended = true;
    wake(sub);
  };
  signal.addEventListener("abort", onAbort, { once: true });
  state.logger.debug({ subscribers: state.subscribers.size }, "revocation feed subscriber joined");
  try {
    yield* drain(sub);
  } finally {
    signal.removeEventListener("abort", onAbort);
    state.subscribers.delete(sub);
    stopHeartbeatIfIdle(state);
  }
}

/** Yields the subscriber's queue as it fills, waiting when it is empty. */
async function* drain(sub: Subscriber): AsyncGenerator<WatchResponse> {
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
}
