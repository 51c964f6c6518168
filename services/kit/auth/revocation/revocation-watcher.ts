import type { Client } from "@connectrpc/connect";
import type { RevocationService, WatchResponse } from "../../../../gen/supportext/auth/v1/revocation_pb.js";
import type { Config } from "../../config/config.js";
import type { Logger } from "../../log/logger.js";
import { runOutsideCall } from "../../propagation/call-scope.js";
import { AuthError } from "../auth-error.js";
import {
  type FeedClock,
  type FeedState,
  type FeedStatus,
  feedState,
  nextStateChangeAt,
} from "./feed-state.js";
import { type BackoffSettings, reconnectDelayMs } from "./reconnect-backoff.js";
import { createRevokedSessions } from "./revoked-sessions.js";

/** A session the feed reported revoked (each one once per watcher, however often it is repeated). */
export interface RevokedSessionEvent {
  readonly sessionId: string;
  readonly revokedAtMs: number;
  /** "logout", "refresh_token_reuse", "user_gone", "admin". */
  readonly reason: string;
  /** Heard in a snapshot (revoked while this watcher was not listening), not as it happened. */
  readonly fromSnapshot: boolean;
}

export interface RevocationWatcherOptions {
  /**
   * A RevocationService client carrying this service's own credential, e.g.
   * `createServiceClient(RevocationService, config.IDENTITY_URL, { credentials, audience: "identity" })`.
   * The watcher calls `watch` with no deadline and outside any call scope (no user credential).
   */
  readonly client?: Pick<Client<typeof RevocationService>, "watch">;
  /** Instead of `client`: opens one Watch stream that ends or fails when `signal` aborts. */
  readonly openStream?: (signal: AbortSignal) => AsyncIterable<WatchResponse>;
  readonly logger: Logger;
  /** REVOCATION_HEARTBEAT, ms: the feed is live while a message came within 2.5 of these. */
  readonly heartbeatMs: number;
  /** REVOCATION_STALENESS_LIMIT, ms: silent longer than this since the last message → failed. */
  readonly stalenessLimitMs: number;
  /** How long a revoked session is remembered after its revocation (see `revocationWatcherSettings`). */
  readonly retentionMs: number;
  readonly reconnect?: BackoffSettings;
}

export interface RevocationWatcher {
  /** Whether tokens of this login session (`sid`) must be refused. A Map read. */
  isRevoked(sessionId: string): boolean;
  /** Called once per newly revoked session (from the snapshot too: revoked while we were away). */
  onRevoked(listener: (event: RevokedSessionEvent) => void): () => void;
  state(): FeedState;
  /** Called on every status change (live ↔ stale ↔ failed). */
  onStateChange(listener: (state: FeedState) => void): () => void;
  /**
   * Throws `AuthError("revocation_unknown")` — "revocation feed unavailable for N s" — while the
   * status is `failed`: callers refuse user tokens then (the kit maps it to `unavailable` / 503).
   */
  assertServing(): void;
  /** Resolves true once the feed is live (the first snapshot arrived), false after `timeoutMs` or close. */
  ready(timeoutMs: number): Promise<boolean>;
  /** Ends the stream and every timer. Idempotent. */
  close(): Promise<void>;
}

/** The watcher's durations from the product configuration (whole seconds there, ms here). */
export function revocationWatcherSettings(
  config: Pick<
    Config,
    "REVOCATION_HEARTBEAT" | "REVOCATION_STALENESS_LIMIT" | "ACCESS_TOKEN_TTL" | "CLOCK_TOLERANCE"
  >,
): Pick<RevocationWatcherOptions, "heartbeatMs" | "stalenessLimitMs" | "retentionMs"> {
  return {
    heartbeatMs: config.REVOCATION_HEARTBEAT * 1000,
    stalenessLimitMs: config.REVOCATION_STALENESS_LIMIT * 1000,
    // A revoked session's user tokens live ACCESS_TOKEN_TTL at most; the MCP tokens exchanged from
    // them carry the same `sid` and live MCP_TOKEN_TTL ≤ that. Plus the verifiers' clock tolerance.
    retentionMs: (config.ACCESS_TOKEN_TTL + config.CLOCK_TOLERANCE) * 1000,
  };
}

const PRUNE_INTERVAL_MS = 60_000;

/**
 * A verifier's subscription to the identity provider's revocation feed (docs/architecture.md,
 * "Revocation"). Keeps one `RevocationService.Watch` stream open — resubscribing with jittered,
 * bounded backoff when it fails, ends (the server draining) or goes silent for 2.5 heartbeats (a
 * dead link sends no error) — and each time starts over from the snapshot, which holds every
 * revocation it could have missed. Revocations are merged, never replaced: a session never comes
 * back, and entries expire on their own.
 */
export function createRevocationWatcher(options: RevocationWatcherOptions): RevocationWatcher {
  const { logger, retentionMs } = options;
  const limits = { heartbeatMs: options.heartbeatMs, stalenessLimitMs: options.stalenessLimitMs };
  const open = streamOpener(options);
  const revoked = createRevokedSessions();
  const revokedListeners = new Set<(event: RevokedSessionEvent) => void>();
  const stateListeners = new Set<(state: FeedState) => void>();
  const readyWaiters = new Set<(live: boolean) => void>();
  const clock: { -readonly [K in keyof FeedClock]: FeedClock[K] } = {
    startedAt: Date.now(),
    lastMessageAt: undefined,
    liveSince: 0,
  };
  let published: FeedStatus = feedState(clock, limits, clock.startedAt).status;
  let closed = false;
  let stream: AbortController | undefined;
  let checkTimer: NodeJS.Timeout | undefined;
  let wakeSleeper: (() => void) | undefined;
  let failingSince: number | undefined;

  const state = () => feedState(clock, limits, Date.now());

  /** Announces a status change: logs it once, tells listeners, and drops a stream gone silent. */
  const publish = () => {
    const current = state();
    if (current.status === published) return;
    const previous = published;
    published = current.status;
    const silentSec = secondsSince(current.lastMessageAt ?? clock.startedAt);
    if (current.status === "live") {
      logger.info({ previous }, "revocation feed live");
      for (const resolve of readyWaiters) resolve(true);
      readyWaiters.clear();
    } else {
      if (current.status === "stale") {
        logger.warn(
          { silent_s: silentSec, staleness_limit_s: limits.stalenessLimitMs / 1000 },
          "revocation feed silent: serving on what it last said until the staleness limit",
        );
      } else {
        logger.error(
          { silent_s: silentSec },
          "revocation feed unavailable beyond its staleness limit: user tokens are refused until it is back",
        );
      }
      // Silent for 2.5 heartbeats: whatever stream we hold is dead or stuck; start over.
      stream?.abort();
    }
    for (const listener of stateListeners) {
      try {
        listener(current);
      } catch (err) {
        logger.error({ err }, "revocation feed state listener failed");
      }
    }
  };

  const scheduleCheck = () => {
    if (closed || checkTimer) return;
    const now = Date.now();
    const at = nextStateChangeAt(clock, limits, now);
    if (at === undefined) return;
    checkTimer = setTimeout(() => {
      checkTimer = undefined;
      publish();
      scheduleCheck();
    }, at - now);
    checkTimer.unref();
  };

  const receive = (message: WatchResponse) => {
    const now = Date.now();
    if (state().status !== "live") clock.liveSince = now;
    clock.lastMessageAt = now;
    failingSince = undefined;
    const fresh: RevokedSessionEvent[] = [];
    for (const s of message.sessions) {
      const revokedAtMs = Number(s.revokedAtMs);
      if (revoked.add(s.sessionId, revokedAtMs + retentionMs, now)) {
        fresh.push({ sessionId: s.sessionId, revokedAtMs, reason: s.reason, fromSnapshot: message.snapshot });
      }
    }
    if (message.snapshot) revoked.prune(now);
    // The set is updated before anyone hears of it: a listener checking isRevoked sees the truth.
    for (const event of fresh) {
      for (const listener of revokedListeners) {
        try {
          listener(event);
        } catch (err) {
          logger.error({ err, session_id: event.sessionId }, "revoked-session listener failed");
        }
      }
    }
    if (fresh.length > 0) {
      logger.debug({ sessions: fresh.length, snapshot: message.snapshot }, "revoked sessions received");
    }
    publish();
    scheduleCheck();
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeSleeper = undefined;
        resolve();
      }
      wakeSleeper = done;
    });

  const run = async () => {
    let attempt = 0;
    while (!closed) {
      const controller = new AbortController();
      stream = controller;
      try {
        for await (const message of open(controller.signal)) {
          attempt = 0;
          receive(message);
        }
        if (!closed) logger.info("revocation feed stream ended by the server; resubscribing");
      } catch (err) {
        if (closed) break;
        if (!controller.signal.aborted) {
          // One warning per outage; the retries after it only at debug level.
          if (failingSince === undefined) {
            failingSince = Date.now();
            logger.warn({ err }, "revocation feed stream failed; resubscribing");
          } else {
            logger.debug({ err, attempt }, "revocation feed resubscribe failed");
          }
        }
      } finally {
        if (stream === controller) stream = undefined;
      }
      if (closed) break;
      await sleep(reconnectDelayMs(attempt++, options.reconnect));
    }
  };

  const pruner = setInterval(() => revoked.prune(), PRUNE_INTERVAL_MS);
  pruner.unref();
  // Outside any call: started from a request, the stream must still not carry that user's token.
  const running = runOutsideCall(run);

  return {
    isRevoked: (sessionId) => revoked.has(sessionId),
    onRevoked(listener) {
      revokedListeners.add(listener);
      return () => revokedListeners.delete(listener);
    },
    state,
    onStateChange(listener) {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    },
    assertServing() {
      const current = state();
      if (current.status !== "failed") return;
      throw new AuthError(
        "revocation_unknown",
        `revocation feed unavailable for ${secondsSince(current.lastMessageAt ?? clock.startedAt)} s`,
      );
    },
    ready(timeoutMs) {
      if (state().status === "live") return Promise.resolve(true);
      if (closed) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const settle = (live: boolean) => {
          clearTimeout(timer);
          readyWaiters.delete(settle);
          resolve(live);
        };
        const timer = setTimeout(() => settle(false), timeoutMs);
        timer.unref();
        readyWaiters.add(settle);
      });
    },
    async close() {
      if (closed) return running;
      closed = true;
      clearTimeout(checkTimer);
      clearInterval(pruner);
      stream?.abort();
      wakeSleeper?.();
      for (const resolve of [...readyWaiters]) resolve(false);
      await running;
    },
  };
}

function streamOpener(
  options: RevocationWatcherOptions,
): (signal: AbortSignal) => AsyncIterable<WatchResponse> {
  if (options.openStream) return options.openStream;
  const client = options.client;
  if (!client) throw new Error("createRevocationWatcher needs a client or openStream");
  // No deadline: the stream is meant to stay open (the client's default 30 s would cut it).
  return (signal) => client.watch({}, { signal, timeoutMs: 0 });
}

function secondsSince(t: number): number {
  return Math.max(0, Math.round((Date.now() - t) / 1000));
}
