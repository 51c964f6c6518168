import type pg from "pg";
import { assertChannelName, type ListenFn, type Listening, type ListenOptions } from "./listen.js";
import { ChannelListener, type ChannelListenerContext } from "./pg-channel-listener.js";
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
 * `listen` for the `pg` back end. Each call holds one dedicated connection — not a pooled one:
 * `LISTEN` belongs to a session, and a pooled client is handed to other callers and recycled when
 * idle. A lost connection (server restart, `pg_terminate_backend`, a failed ping) is re-opened with
 * jittered backoff, `LISTEN` issued again, and `onReconnected` called so the caller can reload what
 * it missed (`ChannelListener`). `closeAll` (from `db.close()`) ends every one, so no connection
 * outlives the pool.
 */
export function createPgListen(settings: PgListenSettings): { listen: ListenFn; closeAll(): Promise<void> } {
  const active = new Set<Listening>();
  const context: ChannelListenerContext = {
    clientConfig: settings.clientConfig,
    safe: settings.safe,
    logger: settings.logger,
    reconnect: { initialMs: settings.reconnect?.initialMs ?? 100, maxMs: settings.reconnect?.maxMs ?? 5_000 },
    pingIntervalMs: settings.pingIntervalMs ?? 15_000,
  };

  const listen: ListenFn = async (channel, onNotification, options: ListenOptions = {}) => {
    assertChannelName(channel);
    const listening = new ChannelListener(channel, onNotification, options, context, (closed) =>
      active.delete(closed),
    );
    await listening.start();
    active.add(listening);
    return listening;
  };

  return {
    listen,
    async closeAll() {
      await Promise.all([...active].map((l) => l.close()));
    },
  };
}
