import { type SharedEvent, THROTTLE_EVENT_CHANNEL } from "./event.js";
import type { SharingState } from "./state.js";

/**
 * Writes an event to `throttle_events` (a clear deletes the key's rows) with `pg_notify` in the same
 * statement, so every other replica hears it when it commits.
 */
export function announceEvent(state: SharingState, event: SharedEvent): void {
  const sql =
    event.at === undefined
      ? `WITH gone AS (DELETE FROM throttle_events WHERE window_name = $1 AND key_hash = $2)
           SELECT pg_notify('${THROTTLE_EVENT_CHANNEL}', $3)`
      : `WITH kept AS (INSERT INTO throttle_events (window_name, key_hash, at_ms) VALUES ($1, $2, $4))
           SELECT pg_notify('${THROTTLE_EVENT_CHANNEL}', $3)`;
  const params = [
    event.w,
    event.k,
    JSON.stringify({ ...event, s: state.schema }),
    ...(event.at === undefined ? [] : [event.at]),
  ];
  // Off the request path: the answer never waits for the write; a failed write only means the
  // other replicas did not count this one event.
  state.db
    .query(sql, params)
    .catch((err: unknown) =>
      state.logger.warn({ err, window: event.w }, "throttle event not shared with the other replicas"),
    );
}
