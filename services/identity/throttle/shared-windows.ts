import { randomUUID } from "node:crypto";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { parseSharedEvent, THROTTLE_EVENT_CHANNEL } from "./sharing/event.js";
import { loadSharedEvents, reloadMissedEvents, startPruningOldEvents } from "./sharing/reload.js";
import { applyEvent, type SharingState } from "./sharing/state.js";
import { sharedWindow } from "./sharing/window.js";
import type { SlidingWindow } from "./sliding-window.js";

export { THROTTLE_EVENT_CHANNEL } from "./sharing/event.js";

export interface ThrottleSharing {
  /**
   * A sliding window whose events every identity replica counts: answered from memory (no database
   * round trip on the request path), written through to the database and announced, and the other
   * replicas' events applied as they are announced.
   */
  window(name: string, options: { windowMs: number; limit: number; maxKeys?: number }): SlidingWindow;
  /** Loads the events still inside their windows (call after every window is made), then listens. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Throttle counts shared by the identity replicas (docs/identity.md, "Throttling"): without it N
 * replicas behind a balancer allow N× every limit. Each window keeps answering from memory; each
 * event is inserted into `throttle_events` with `pg_notify` in the same statement, so every other
 * replica hears it when it commits and records it too (a few ms later — a throttle, not a ledger).
 * A replica starting, or one whose LISTEN connection came back (notifications of the gap are lost),
 * loads the events still inside their windows. On PGlite this process is the only one and its
 * own notifications are skipped: one code path.
 */
export function createThrottleSharing(options: { db: Database; logger: Logger }): ThrottleSharing {
  const state: SharingState = {
    db: options.db,
    logger: options.logger,
    origin: randomUUID(),
    windows: new Map(),
    schema: undefined,
    listening: undefined,
    stopped: false,
    retry: undefined,
    pruner: undefined,
  };
  return {
    window: (name, windowOptions) => sharedWindow(state, name, windowOptions),
    start: () => startSharing(state),
    stop: () => stopSharing(state),
  };
}

/** Reads this replica's schema, listens for the others' events, then loads those still counting. */
async function startSharing(state: SharingState): Promise<void> {
  const { db, logger } = state;
  const { rows } = await db.query<{ schema: string }>("SELECT current_schema() AS schema");
  state.schema = rows[0]?.schema;
  // LISTEN before loading: an event committed in between is heard or loaded, never neither
  // (counted twice at worst, which only throttles sooner).
  if (db.listen) {
    state.listening = await db.listen(THROTTLE_EVENT_CHANNEL, (payload) => applyHeardEvent(state, payload), {
      onReconnected: () => reloadMissedEvents(state),
    });
  } else {
    logger.warn("this database cannot LISTEN: throttles count this process's events only");
  }
  const events = await loadSharedEvents(state);
  logger.info({ events, listen: state.listening !== undefined }, "throttle events loaded");
  startPruningOldEvents(state);
}

async function stopSharing(state: SharingState): Promise<void> {
  state.stopped = true;
  clearTimeout(state.retry);
  clearInterval(state.pruner);
  await state.listening?.close();
}

/** Another replica's event, counted here; this replica's own and another schema's are skipped. */
function applyHeardEvent(state: SharingState, payload: string): void {
  const event = parseSharedEvent(payload);
  if (
    !event ||
    state.stopped ||
    event.o === state.origin ||
    // Another schema's deployment; an event without one comes from a replica older than the
    // field (a rolling upgrade) and is counted, as it was before.
    (event.s !== undefined && event.s !== state.schema)
  )
    return;
  applyEvent(state, event);
}
