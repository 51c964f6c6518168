import type { Client } from "@connectrpc/connect";
import type { RevocationService, WatchResponse } from "#gen/supportext/auth/v1/revocation_pb.js";
import { AuthError } from "../auth/auth-error.js";
import { createRemovedKeys, type RemovedKeys } from "../auth/removed-keys.js";
import type { Logger } from "../log/logger.js";
import type { FeedState } from "./feed-state.js";
import { createFeedStatusMonitor } from "./feed-status-monitor.js";
import { keepSubscribed } from "./feed-subscription.js";
import { createListenerSet } from "./listener-set.js";
import type { BackoffSettings } from "./reconnect-backoff.js";
import { createRevokedSessions, type RevokedSessions } from "./revoked-sessions.js";

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
  /** How long a revoked session is remembered after its revocation (see `revocationWatcherSettings`, `kit/service/`). */
  readonly retentionMs: number;
  readonly reconnect?: BackoffSettings;
  /**
   * Where the signing keys the feed reports removed go: shared with the process's verifiers and
   * token caches, which may be built before the watcher (its own Watch call needs a credential).
   */
  readonly removedKeys?: RemovedKeys;
}

export interface RevocationWatcher {
  /** Whether tokens of this login session (`sid`) must be refused. A Map read. */
  isRevoked(sessionId: string): boolean;
  /** Called once per newly revoked session (from the snapshot too: revoked while we were away). */
  onRevoked(listener: (event: RevokedSessionEvent) => void): () => void;
  /**
   * Whether tokens signed by this key (`kid`) must be refused: the issuer removed it. A Set read.
   * Remembered for the life of the process, never pruned: whoever holds a removed key can sign a
   * token with any `exp`, so no expiry of ours bounds how long such a token would verify.
   */
  isKeyRemoved(kid: string): boolean;
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
  const { logger } = options;
  const open = streamOpener(options);
  const revoked = createRevokedSessions();
  const revokedListeners = createListenerSet<RevokedSessionEvent>();
  const removedKeys = options.removedKeys ?? createRemovedKeys();
  const status = createFeedStatusMonitor({
    logger,
    limits: { heartbeatMs: options.heartbeatMs, stalenessLimitMs: options.stalenessLimitMs },
    // Silent for 2.5 heartbeats: whatever stream we hold is dead or stuck; start over.
    onSilent: () => subscription.dropStream(),
  });

  const receive = (message: WatchResponse) => {
    const now = Date.now();
    status.heard(now);
    const fresh = mergeRevocations(revoked, message, now, options.retentionMs);
    // The set is updated before anyone hears of it: a listener checking isRevoked sees the truth.
    for (const event of fresh) {
      revokedListeners.notify(event, (err) =>
        logger.error({ err, session_id: event.sessionId }, "revoked-session listener failed"),
      );
    }
    if (fresh.length > 0) {
      logger.debug({ sessions: fresh.length, snapshot: message.snapshot }, "revoked sessions received");
    }
    for (const key of message.removedKeys) {
      if (!removedKeys.add(key.kid)) continue;
      logger.info(
        {
          kid: key.kid,
          removed_at: new Date(Number(key.removedAtMs)).toISOString(),
          snapshot: message.snapshot,
        },
        "signing key removed by the issuer: its tokens are refused from now on",
      );
    }
    status.update();
  };

  const pruner = setInterval(() => revoked.prune(), PRUNE_INTERVAL_MS);
  pruner.unref();
  const subscription = keepSubscribed({ open, onMessage: receive, logger, reconnect: options.reconnect });

  return {
    isRevoked: (sessionId) => revoked.has(sessionId),
    onRevoked: (listener) => revokedListeners.add(listener),
    isKeyRemoved: (kid) => removedKeys.has(kid),
    state: status.state,
    onStateChange: status.onStateChange,
    assertServing() {
      if (status.state().status !== "failed") return;
      throw new AuthError(
        "revocation_unknown",
        `revocation feed unavailable for ${status.silentSeconds()} s`,
      );
    },
    ready: status.ready,
    close() {
      status.close();
      clearInterval(pruner);
      return subscription.close();
    },
  };
}

/**
 * Adds a message's sessions to `revoked`, each remembered `retentionMs` past its revocation, and
 * returns those it did not know yet. A snapshot also drops the entries that have expired.
 */
function mergeRevocations(
  revoked: RevokedSessions,
  message: WatchResponse,
  now: number,
  retentionMs: number,
): RevokedSessionEvent[] {
  const fresh: RevokedSessionEvent[] = [];
  for (const s of message.sessions) {
    const revokedAtMs = Number(s.revokedAtMs);
    if (revoked.add(s.sessionId, revokedAtMs + retentionMs, now)) {
      fresh.push({ sessionId: s.sessionId, revokedAtMs, reason: s.reason, fromSnapshot: message.snapshot });
    }
  }
  if (message.snapshot) revoked.prune(now);
  return fresh;
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
