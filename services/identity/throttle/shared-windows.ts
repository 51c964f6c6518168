import { createHash, randomUUID } from "node:crypto";
import type { Database, Listening } from "../../kit/db/index.js";
import type { Logger } from "../../kit/log/index.js";
import { createSlidingWindow, type SlidingWindow } from "./sliding-window.js";

/** The NOTIFY channel of throttle events; its payload is one event as JSON (`SharedEvent`). */
export const THROTTLE_EVENT_CHANNEL = "throttle_event";

/** One counted event (or a cleared key) as stored and as announced to the other replicas. */
interface SharedEvent {
  /** The window's name (`login_pair`, `client_auth`, …). */
  readonly w: string;
  /** The key's SHA-256: emails and addresses are not written to the table or the channel. */
  readonly k: string;
  /** Epoch ms of the event, by the recording replica's clock; absent for a clear. */
  readonly at?: number;
  /** The recording replica: it has counted the event already. */
  readonly o: string;
  /**
   * The recording replica's schema. Channels are per database, not per schema: two deployments
   * sharing one PostgreSQL database in their own schemas hear each other's notifications, and must
   * not count each other's events.
   */
  readonly s?: string;
}

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

const RELOAD_RETRY_MS = 1_000;
const PRUNE_INTERVAL_MS = 300_000;

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
  const { db, logger } = options;
  const origin = randomUUID();
  /** Each window's events in memory; replaced wholesale when the table is read again. */
  const windows = new Map<
    string,
    { local: SlidingWindow; readonly options: { windowMs: number; limit: number; maxKeys?: number } }
  >();
  let listening: Listening | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let pruner: NodeJS.Timeout | undefined;
  /** This replica's schema (`current_schema()`), read at start. */
  let schema: string | undefined;

  const longestWindowMs = () => Math.max(0, ...[...windows.values()].map((w) => w.options.windowMs));

  const apply = (event: SharedEvent) => {
    const target = windows.get(event.w);
    if (!target) return;
    if (event.at === undefined) target.local.clear(event.k);
    else target.local.record(event.k, event.at);
  };

  const announce = (event: SharedEvent) => {
    const sql =
      event.at === undefined
        ? `WITH gone AS (DELETE FROM throttle_events WHERE window_name = $1 AND key_hash = $2)
           SELECT pg_notify('${THROTTLE_EVENT_CHANNEL}', $3)`
        : `WITH kept AS (INSERT INTO throttle_events (window_name, key_hash, at_ms) VALUES ($1, $2, $4))
           SELECT pg_notify('${THROTTLE_EVENT_CHANNEL}', $3)`;
    const params = [
      event.w,
      event.k,
      JSON.stringify({ ...event, s: schema }),
      ...(event.at === undefined ? [] : [event.at]),
    ];
    // Off the request path: the answer never waits for the write; a failed write only means the
    // other replicas did not count this one event.
    db.query(sql, params).catch((err: unknown) =>
      logger.warn({ err, window: event.w }, "throttle event not shared with the other replicas"),
    );
  };

  /**
   * Rebuilds every window from the table, which holds every replica's events (this one's too):
   * after a LISTEN gap nothing is missed and nothing counted twice.
   */
  const load = async () => {
    const since = Date.now() - longestWindowMs();
    const { rows } = await db.query<{ window_name: string; key_hash: string; at_ms: string }>(
      "SELECT window_name, key_hash, at_ms FROM throttle_events WHERE at_ms > $1 ORDER BY at_ms",
      [since],
    );
    for (const entry of windows.values()) entry.local = createSlidingWindow(entry.options);
    for (const row of rows) apply({ w: row.window_name, k: row.key_hash, at: Number(row.at_ms), o: "" });
    await db.query("DELETE FROM throttle_events WHERE at_ms <= $1", [since]);
    return rows.length;
  };

  const reloadMissed = () => {
    if (stopped) return;
    load().then(
      (events) => logger.info({ events }, "throttle events reloaded after a LISTEN interruption"),
      (err: unknown) => {
        logger.warn({ err }, "throttle event reload failed; retrying");
        retry = setTimeout(reloadMissed, RELOAD_RETRY_MS);
        retry.unref();
      },
    );
  };

  const onNotification = (payload: string) => {
    let event: SharedEvent;
    try {
      event = JSON.parse(payload) as SharedEvent;
    } catch {
      return;
    }
    if (
      stopped ||
      event.o === origin ||
      // Another schema's deployment; an event without one comes from a replica older than the
      // field (a rolling upgrade) and is counted, as it was before.
      (event.s !== undefined && event.s !== schema) ||
      typeof event.w !== "string" ||
      typeof event.k !== "string"
    )
      return;
    apply(event);
  };

  return {
    window(name, windowOptions) {
      const entry = { local: createSlidingWindow(windowOptions), options: windowOptions };
      windows.set(name, entry);
      const hashed = (key: string) => createHash("sha256").update(key).digest("base64url");
      return {
        blockedFor: (key, now) => entry.local.blockedFor(hashed(key), now),
        count: (key, now) => entry.local.count(hashed(key), now),
        record(key, now) {
          const k = hashed(key);
          entry.local.record(k, now);
          announce({ w: name, k, at: now, o: origin });
        },
        clear(key) {
          const k = hashed(key);
          entry.local.clear(k);
          announce({ w: name, k, o: origin });
        },
      };
    },

    async start() {
      const { rows } = await db.query<{ schema: string }>("SELECT current_schema() AS schema");
      schema = rows[0]?.schema;
      // LISTEN before loading: an event committed in between is heard or loaded, never neither
      // (counted twice at worst, which only throttles sooner).
      if (db.listen) {
        listening = await db.listen(THROTTLE_EVENT_CHANNEL, onNotification, { onReconnected: reloadMissed });
      } else {
        logger.warn("this database cannot LISTEN: throttles count this process's events only");
      }
      const events = await load();
      logger.info({ events, listen: listening !== undefined }, "throttle events loaded");
      // Rows past every window count for nothing: dropped every few minutes by whichever replica.
      pruner = setInterval(() => {
        db.query("DELETE FROM throttle_events WHERE at_ms <= $1", [Date.now() - longestWindowMs()]).catch(
          (err: unknown) => logger.warn({ err }, "old throttle events could not be deleted"),
        );
      }, PRUNE_INTERVAL_MS);
      pruner.unref();
    },

    async stop() {
      stopped = true;
      clearTimeout(retry);
      clearInterval(pruner);
      await listening?.close();
    },
  };
}
