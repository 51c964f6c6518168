import type pg from "pg";
import { assertChannelName, type ListenFn, type ListenOptions } from "./listen.js";
import { SharedListenConnection } from "./pg-channel-listener.js";
import type { DatabaseLogger } from "./types.js";

export interface PgListenSettings {
  /** Connection settings of the dedicated connection (the pool's URL; never a pooled client). */
  readonly clientConfig: pg.ClientConfig;
  /** An error's message with every known secret removed (the URL's password). */
  readonly safe: (err: unknown) => string;
  readonly logger?: DatabaseLogger | undefined;
  /** Reconnect backoff after a lost connection: jittered, doubling from `initialMs` up to `maxMs`. */
  readonly reconnect?: { readonly initialMs?: number; readonly maxMs?: number };
  /** How often an idle listening connection is checked with `SELECT 1` (a silently dead TCP link sends no error). */
  readonly pingIntervalMs?: number;
}

/**
 * `listen` for the `pg` back end. Every channel shares one dedicated connection — not a pooled
 * one: `LISTEN` belongs to a session, and a pooled client is handed to other callers and recycled
 * when idle. A lost connection (server restart, `pg_terminate_backend`, a failed ping) is re-opened
 * with jittered backoff, every `LISTEN` issued again, and each `onReconnected` called so its caller
 * can reload what it missed (`SharedListenConnection`). `closeAll` (from `db.close()`) ends it, so
 * no connection outlives the pool.
 */
export function createPgListen(settings: PgListenSettings): { listen: ListenFn; closeAll(): Promise<void> } {
  const connection = new SharedListenConnection({
    clientConfig: settings.clientConfig,
    safe: settings.safe,
    logger: settings.logger,
    reconnect: { initialMs: settings.reconnect?.initialMs ?? 100, maxMs: settings.reconnect?.maxMs ?? 5_000 },
    pingIntervalMs: settings.pingIntervalMs ?? 15_000,
  });

  const listen: ListenFn = async (channel, onNotification, options: ListenOptions = {}) => {
    assertChannelName(channel);
    return connection.listen(channel, onNotification, options);
  };

  return { listen, closeAll: () => connection.closeAll() };
}
