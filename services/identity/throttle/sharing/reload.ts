import { createSlidingWindow } from "../sliding-window.js";
import { applyEvent, longestWindowMs, type SharingState } from "./state.js";

const RELOAD_RETRY_MS = 1_000;
const PRUNE_INTERVAL_MS = 300_000;

/**
 * Rebuilds every window from the table, which holds every replica's events (this one's too):
 * after a LISTEN gap nothing is missed and nothing counted twice. Returns the events loaded.
 */
export async function loadSharedEvents(state: SharingState): Promise<number> {
  const since = Date.now() - longestWindowMs(state);
  const { rows } = await state.db.query<{ window_name: string; key_hash: string; at_ms: string }>(
    "SELECT window_name, key_hash, at_ms FROM throttle_events WHERE at_ms > $1 ORDER BY at_ms",
    [since],
  );
  for (const entry of state.windows.values()) entry.local = createSlidingWindow(entry.options);
  for (const row of rows) {
    applyEvent(state, { w: row.window_name, k: row.key_hash, at: Number(row.at_ms), o: "" });
  }
  await state.db.query("DELETE FROM throttle_events WHERE at_ms <= $1", [since]);
  return rows.length;
}

/** After a LISTEN interruption (its notifications are lost): loads the table again until it works. */
export function reloadMissedEvents(state: SharingState): void {
  if (state.stopped) return;
  loadSharedEvents(state).then(
    (events) => state.logger.info({ events }, "throttle events reloaded after a LISTEN interruption"),
    (err: unknown) => {
      state.logger.warn({ err }, "throttle event reload failed; retrying");
      state.retry = setTimeout(() => reloadMissedEvents(state), RELOAD_RETRY_MS);
      state.retry.unref();
    },
  );
}

/** Rows past every window count for nothing: dropped every few minutes by whichever replica. */
export function startPruningOldEvents(state: SharingState): void {
  state.pruner = setInterval(() => {
    state.db
      .query("DELETE FROM throttle_events WHERE at_ms <= $1", [Date.now() - longestWindowMs(state)])
      .catch((err: unknown) => state.logger.warn({ err }, "old throttle events could not be deleted"));
  }, PRUNE_INTERVAL_MS);
  state.pruner.unref();
}
