import type pg from "pg";
import { backoffDelayMs } from "../retry/backoff.js";
import type { Listening, ListenOptions } from "./listen.js";
import { openListenClient, pingEvery } from "./pg-listen-client.js";
import type { DatabaseLogger } from "./types.js";

/** What the listening connection of one database needs (`createPgListen`'s settings, resolved). */
export interface ChannelListenerContext {
  readonly clientConfig: pg.ClientConfig;
  readonly safe: (err: unknown) => string;
  readonly logger?: DatabaseLogger | undefined;
  readonly reconnect: { readonly initialMs: number; readonly maxMs: number };
  readonly pingIntervalMs: number;
}

interface Subscriber {
  readonly onNotification: (payload: string) => void;
  readonly options: ListenOptions;
}

/**
 * Every `LISTEN` of one database on one dedicated connection: a connection is a server process
 * (about 13 MB each on PostgreSQL), and a service listening on several channels needs only one.
 * Notifications go to the channel's subscribers; the connection is opened with the first channel,
 * ended with the last, and re-opened with jittered backoff when lost (server restart,
 * `pg_terminate_backend`, a failed ping) — every channel listened to again and every subscriber's
 * `onReconnected` called, since whatever was notified meanwhile was missed.
 */
export class SharedListenConnection {
  private readonly channels = new Map<string, Set<Subscriber>>();
  private current: pg.Client | undefined;
  private opening: Promise<pg.Client> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private lostAt = 0;
  /** Set while a lost connection waits to be re-opened (its subscribers are owed onReconnected). */
  private reconnecting = false;
  /** `LISTEN`s under way on `pendingOn`, by channel: a channel's later subscribers wait for its one. */
  private readonly pendingListens = new Map<string, Promise<void>>();
  private pendingOn: pg.Client | undefined;

  constructor(private readonly context: ChannelListenerContext) {}

  /**
   * Starts delivering `channel`'s notifications; resolves only once the connection LISTENs on it
   * (so a caller may load what it must not miss right after), rejects, leaving nothing behind, when
   * it cannot.
   */
  async listen(
    channel: string,
    onNotification: (payload: string) => void,
    options: ListenOptions,
  ): Promise<Listening> {
    const subscriber: Subscriber = { onNotification, options };
    const subscribers = this.channels.get(channel) ?? new Set<Subscriber>();
    subscribers.add(subscriber);
    this.channels.set(channel, subscribers);
    try {
      // A connection opened from here on LISTENs on this channel before it is adopted (`open`).
      const client = this.current ?? (await this.connect());
      if (!listensOn(client, channel)) await this.listenOnce(client, channel);
    } catch (err) {
      await this.unsubscribe(channel, subscriber);
      throw new Error(`cannot LISTEN on ${channel}: ${this.context.safe(err)}`);
    }
    let closed = false;
    return {
      close: async () => {
        if (closed) return;
        closed = true;
        await this.unsubscribe(channel, subscriber);
      },
    };
  }

  /** One `LISTEN channel` on `client` however many subscribers wait for it; each waits for it. */
  private listenOnce(client: pg.Client, channel: string): Promise<void> {
    let pending = this.pendingListens.get(channel);
    if (!pending || this.pendingOn !== client) {
      if (this.pendingOn !== client) this.pendingListens.clear();
      this.pendingOn = client;
      const listening = listenOn(client, channel).finally(() => {
        if (this.pendingListens.get(channel) === listening) this.pendingListens.delete(channel);
      });
      pending = listening;
      this.pendingListens.set(channel, listening);
    }
    return pending;
  }

  /** Ends every subscription and the connection (`db.close()`). */
  async closeAll(): Promise<void> {
    this.channels.clear();
    await this.endWhenUnused();
  }

  private async unsubscribe(channel: string, subscriber: Subscriber): Promise<void> {
    const subscribers = this.channels.get(channel);
    if (!subscribers?.delete(subscriber) || subscribers.size > 0) return;
    this.channels.delete(channel);
    if (this.channels.size === 0) return this.endWhenUnused();
    const client = this.current;
    if (client) {
      listenedChannels(client).delete(channel);
      await client.query(`UNLISTEN ${channel}`).catch(() => undefined);
    }
  }

  private async endWhenUnused(): Promise<void> {
    if (this.channels.size > 0) return;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    this.reconnecting = false;
    this.attempt = 0;
    const client = this.current;
    this.current = undefined;
    // A connection being opened is ended when it arrives (`adopt`).
    await client?.end().catch(() => undefined);
  }

  /** The connection, opened (once, however many ask at the same moment) when there is none. */
  private connect(): Promise<pg.Client> {
    this.opening ??= this.open().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async open(): Promise<pg.Client> {
    const client = await openListenClient(this.context.clientConfig, (channel, payload) =>
      this.deliver(channel, payload),
    );
    try {
      for (const channel of this.channels.keys()) await listenOn(client, channel);
    } catch (err) {
      client.end().catch(() => undefined);
      throw err;
    }
    return this.adopt(client);
  }

  private adopt(client: pg.Client): pg.Client {
    if (this.channels.size === 0) {
      // Every subscriber left while it was being opened.
      client.end().catch(() => undefined);
      throw new Error("no channel to listen on any more");
    }
    this.current = client;
    client.on("error", (err) => this.lost(client, err));
    client.on("end", () => this.lost(client, new Error("connection ended")));
    this.pingTimer = pingEvery(client, this.context.pingIntervalMs, (err) => this.lost(client, err));
    return client;
  }

  private deliver(channel: string, payload: string): void {
    for (const subscriber of this.channels.get(channel) ?? []) {
      try {
        subscriber.onNotification(payload);
      } catch (err) {
        // A listener's bug must not take the connection (and every later notification) down.
        this.context.logger?.error?.({ err: this.context.safe(err), channel }, "LISTEN handler failed");
      }
    }
  }

  private lost(client: pg.Client, err: unknown): void {
    if (client !== this.current) return;
    this.current = undefined;
    clearInterval(this.pingTimer);
    client.removeAllListeners("notification");
    // Not awaited: on a dead link `end()` waits for a socket close that may take minutes.
    client.end().catch(() => undefined);
    if (this.channels.size === 0) return;
    this.lostAt = Date.now();
    this.reconnecting = true;
    this.context.logger?.error?.(
      { err: this.context.safe(err), channels: [...this.channels.keys()] },
      "LISTEN connection lost; reconnecting",
    );
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    // One retry chain at a time: a loss while an earlier retry waits replaces that retry.
    clearTimeout(this.retryTimer);
    if (this.channels.size === 0) return;
    // Jitter: replicas that lost the server together don't all come back in the same millisecond.
    const delay = backoffDelayMs(this.attempt++, { ...this.context.reconnect, jitter: "equal" });
    this.retryTimer = setTimeout(() => {
      if (this.channels.size === 0) return; // every subscriber left while it waited
      if (this.current) return this.restored(); // a new subscriber's listen opened it meanwhile
      this.connect().then(
        () => this.restored(),
        () => this.scheduleReconnect(),
      );
    }, delay);
    this.retryTimer.unref();
  }

  private restored(): void {
    if (!this.reconnecting) return;
    this.reconnecting = false;
    const { logger, safe } = this.context;
    logger?.info(
      { channels: [...this.channels.keys()], attempts: this.attempt, down_ms: Date.now() - this.lostAt },
      "LISTEN connection restored",
    );
    this.attempt = 0;
    for (const [channel, subscribers] of this.channels) {
      for (const { options } of subscribers) {
        try {
          options.onReconnected?.();
        } catch (err) {
          logger?.error?.({ err: safe(err), channel }, "LISTEN onReconnected failed");
        }
      }
    }
  }
}

/** The channels a connection has issued `LISTEN` for (kept on the client object itself). */
const LISTENED = Symbol("listened channels");
type ListeningClient = pg.Client & { [LISTENED]?: Set<string> };

function listenedChannels(client: pg.Client): Set<string> {
  const c = client as ListeningClient;
  c[LISTENED] ??= new Set();
  return c[LISTENED];
}

const listensOn = (client: pg.Client, channel: string) => listenedChannels(client).has(channel);

/** Issues `LISTEN channel`; the channel counts as listened to once the server has answered. */
async function listenOn(client: pg.Client, channel: string): Promise<void> {
  await client.query(`LISTEN ${channel}`);
  listenedChannels(client).add(channel);
}
