import { create } from "@bufbuild/protobuf";
import { type WatchResponse, WatchResponseSchema } from "#gen/supportext/auth/v1/revocation_pb.js";
import { type FeedState, push } from "./feed-state.js";

const HEARTBEAT: WatchResponse = create(WatchResponseSchema, {});

/** Sends every idle subscriber an empty message each `heartbeatMs`, from the first subscriber on. */
export function startHeartbeat(state: FeedState): void {
  if (state.heartbeat) return;
  state.heartbeat = setInterval(() => {
    // A subscriber with messages waiting will hear from us anyway; don't grow its queue.
    for (const sub of state.subscribers) if (sub.queue.length === 0) push(state, sub, HEARTBEAT);
  }, state.heartbeatMs);
  state.heartbeat.unref();
}

/** Stops the heartbeat once nobody listens. */
export function stopHeartbeatIfIdle(state: FeedState): void {
  if (state.subscribers.size > 0 || !state.heartbeat) return;
  clearInterval(state.heartbeat);
  state.heartbeat = undefined;
}
