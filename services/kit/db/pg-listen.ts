import pg from "pg";
import { backoffDelayMs } from "../retry/backoff.js";
import { assertChannelName, type ListenFn, type Listening, type ListenOptions } from "./listen.js";
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

const PING_TIMEOUT_MS = 5_000;

/**
 * `listen` for the `pg` back end. Each call holds one dedicated connection — not a pooled one:
 * `LISTEN` belongs to a session, and a pooled client is handed to other callers and recycled when
 * idle. A lost connection (server restart, `pg_terminate_backend`, a failed ping) is re-opened with
 * jittered backoff, `LISTEN` issued again, and `onReconnected` called so the caller can reload what
 * it missed. `closeAll` (from `db.close()`) ends every one, so no connection outlives the pool.
 */
export function createPgListen(settings: PgListenSettings): { listen: ListenFn; closeAll(): Promise<void> } {
  const active = new Set<Listening>();
  const initialMs = settings.reconnect?.initialMs ?? 100;
  const maxMs = settings.reconnect?.maxMs ?? 5_000;
  const pingIntervalMs = settings.pingIntervalMs ?? 15_000;
  const { logger, safe } = settings;

  const listen: ListenFn = async (channel, onNotification, options: ListenOptions = {}) => {
    assertChannelName(channel);
    let closed = false;
    let current: pg.Client | undefined;
    let retryTimer: NodeJS.Timeout | undefined;
    let pingTimer: NodeJS.Timeout | undefined;
    let attempt = 0;
    let lostAt = 0;

    const deliver = (payload: string) => {
      try {
        onNotification(payload);
      } catch (err) {
        // The listener's bug must not take the connection (and every later notification) down.
        logger?.error?.({ err: safe(err), channel }, "LISTEN handler failed");
      }
    };

    const open = async (): Promise<pg.Client> => {
      const client = new pg.Client(settings.clientConfig);
      // Until `adopt` installs the real handlers: an 'error' without a listener kills the process.
      client.on("error", () => undefined);
      try {
        await client.connect();
        client.on("notification", (msg) => {
          if (msg.channel === channel) deliver(msg.payload ?? "");
        });
        await client.query(`LISTEN ${channel}`);
        return client;
      } catch (err) {
        client.end().catch(() => undefined);
        throw err;
      }
    };

    const adopt = (client: pg.Client) => {
      current = client;
      client.on("error", (err) => lost(client, err));
      client.on("end", () => lost(client, new Error("connection ended")));
      let pinging = false;
      pingTimer = setInterval(() => {
        if (pinging) return;
        pinging = true;
        let timeout: NodeJS.Timeout | undefined;
        Promise.race([
          client.query("SELECT 1"),
          new Promise((_, reject) => {
            timeout = setTimeout(
              () => reject(new Error(`no answer to a ping within ${PING_TIMEOUT_MS} ms`)),
              PING_TIMEOUT_MS,
            );
          }),
        ])
          .catch((err: unknown) => lost(client, err))
          .finally(() => {
            clearTimeout(timeout);
            pinging = false;
          });
      }, pingIntervalMs);
      pingTimer.unref();
    };

    const lost = (client: pg.Client, err: unknown) => {
      if (closed || client !== current) return;
      current = undefined;
      clearInterval(pingTimer);
      client.removeAllListeners("notification");
      // Not awaited: on a dead link `end()` waits for a socket close that may take minutes.
      client.end().catch(() => undefined);
      lostAt = Date.now();
      logger?.error?.({ err: safe(err), channel }, "LISTEN connection lost; reconnecting");
      scheduleReconnect();
    };

    const scheduleReconnect = () => {
      if (closed) return;
      // Jitter: replicas that lost the server together don't all come back in the same millisecond.
      const delay = backoffDelayMs(attempt++, { initialMs, maxMs, jitter: "equal" });
      retryTimer = setTimeout(() => {
        open().then(
          (client) => {
            if (closed) {
              client.end().catch(() => undefined);
              return;
            }
            adopt(client);
            logger?.info(
              { channel, attempts: attempt, down_ms: Date.now() - lostAt },
              "LISTEN connection restored",
            );
            attempt = 0;
            try {
              options.onReconnected?.();
            } catch (err) {
              logger?.error?.({ err: safe(err), channel }, "LISTEN onReconnected failed");
            }
          },
          () => scheduleReconnect(),
        );
      }, delay);
      retryTimer.unref();
    };

    try {
      adopt(await open());
    } catch (err) {
      throw new Error(`cannot LISTEN on ${channel}: ${safe(err)}`);
    }

    const listening: Listening = {
      async close() {
        if (closed) return;
        closed = true;
        active.delete(listening);
        clearTimeout(retryTimer);
        clearInterval(pingTimer);
        const client = current;
        current = undefined;
        await client?.end().catch(() => undefined);
      },
    };
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
