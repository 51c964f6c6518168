import type pg from "pg";
import { backoffDelayMs } from "../retry/backoff.js";
import type { Listening, ListenOptions } from "./listen.js";
import { openListenClient, pingEvery } from "./pg-listen-client.js";
import type { DatabaseLogger } from "./types.js";

/** What every channel listener of one database shares (`createPgListen`'s settings, resolved). */
export interface ChannelListenerContext {
  readonly clientConfig: pg.ClientConfig;
  readonly safe: (err: unknown) => string;
  readonly logger?: DatabaseLogger | undefined;
  readonly reconnect: { readonly initialMs: number; readonly maxMs: number };
  readonly pingIntervalMs: number;
}

/**
 * One `LISTEN` on its own dedicated connection, re-opened with jittered backoff when lost (server
 * restart, `pg_terminate_backend`, a failed ping), `onReconnected` called each time it is back.
 */
export class ChannelListener implements Listening {
  private closed = false;
  private current: pg.Client | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private lostAt = 0;

  constructor(
    private readonly channel: string,
    private readonly onNotification: (payload: string) => void,
    private readonly options: ListenOptions,
    private readonly context: ChannelListenerContext,
    private readonly onClose: (listener: ChannelListener) => void,
  ) {}

  /** Opens the first connection; rejects, leaving nothing behind, when it cannot. */
  async start(): Promise<void> {
    try {
      this.adopt(await this.open());
    } catch (err) {
      throw new Error(`cannot LISTEN on ${this.channel}: ${this.context.safe(err)}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    const client = this.current;
    this.current = undefined;
    await client?.end().catch(() => undefined);
  }

  private open(): Promise<pg.Client> {
    return openListenClient(this.context.clientConfig, this.channel, (payload) => this.deliver(payload));
  }

  private deliver(payload: string): void {
    try {
      this.onNotification(payload);
    } catch (err) {
      // The listener's bug must not take the connection (and every later notification) down.
      this.context.logger?.error?.(
        { err: this.context.safe(err), channel: this.channel },
        "LISTEN handler failed",
      );
    }
  }

  private adopt(client: pg.Client): void {
    this.current = client;
    client.on("error", (err) => this.lost(client, err));
    client.on("end", () => this.lost(client, new Error("connection ended")));
    this.pingTimer = pingEvery(client, this.context.pingIntervalMs, (err) => this.lost(client, err));
  }

  private lost(client: pg.Client, err: unknown): void {
    if (this.closed || client !== this.current) return;
    this.current = undefined;
    clearInterval(this.pingTimer);
    client.removeAllListeners("notification");
    // Not awaited: on a dead link `end()` waits for a socket close that may take minutes.
    client.end().catch(() => undefined);
    this.lostAt = Date.now();
    this.context.logger?.error?.(
      { err: this.context.safe(err), channel: this.channel },
      "LISTEN connection lost; reconnecting",
    );
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    // Jitter: replicas that lost the server together don't all come back in the same millisecond.
    const delay = backoffDelayMs(this.attempt++, { ...this.context.reconnect, jitter: "equal" });
    this.retryTimer = setTimeout(() => {
      this.open().then(
        (client) => this.restored(client),
        () => this.scheduleReconnect(),
      );
    }, delay);
    this.retryTimer.unref();
  }

  private restored(client: pg.Client): void {
    if (this.closed) {
      client.end().catch(() => undefined);
      return;
    }
    this.adopt(client);
    const { logger, safe } = this.context;
    logger?.info(
      { channel: this.channel, attempts: this.attempt, down_ms: Date.now() - this.lostAt },
      "LISTEN connection restored",
    );
    this.attempt = 0;
    try {
      this.options.onReconnected?.();
    } catch (err) {
      logger?.error?.({ err: safe(err), channel: this.channel }, "LISTEN onReconnected failed");
    }
  }
}
