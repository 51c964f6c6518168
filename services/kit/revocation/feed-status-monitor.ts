import type { Logger } from "../log/logger.js";
import {
  type FeedClock,
  type FeedState,
  type FeedStatus,
  feedState,
  nextStateChangeAt,
} from "./feed-state.js";
import { createListenerSet } from "./listener-set.js";
import { createLiveWaiters } from "./live-waiters.js";

export interface FeedLimits {
  readonly heartbeatMs: number;
  readonly stalenessLimitMs: number;
}

export interface FeedStatusMonitorOptions {
  readonly logger: Logger;
  readonly limits: FeedLimits;
  /** Called each time the feed stops being live: whatever stream is held then is dead or stuck. */
  readonly onSilent: () => void;
}

/**
 * The feed's status over time (`feedState`, docs/architecture.md, "Revocation"): when messages
 * arrive, and when silence alone turns it stale then failed. Each change is logged once and told to
 * the listeners, whether a message or a timer revealed it.
 */
export interface FeedStatusMonitor {
  state(): FeedState;
  /** A message arrived at `now`. Call `update` once it has been handled. */
  heard(now: number): void;
  /** Publishes the status if it changed, and arms a timer for the next change by time alone. */
  update(): void;
  onStateChange(listener: (state: FeedState) => void): () => void;
  /** Resolves true once live, false after `timeoutMs` or on `close`. */
  ready(timeoutMs: number): Promise<boolean>;
  /** Whole seconds without a message (since the start, before the first one). */
  silentSeconds(): number;
  /** Stops the timer and answers every pending `ready` false. Idempotent. */
  close(): void;
}

export function createFeedStatusMonitor(options: FeedStatusMonitorOptions): FeedStatusMonitor {
  const { logger, limits } = options;
  const stateListeners = createListenerSet<FeedState>();
  const liveWaiters = createLiveWaiters();
  const clock: { -readonly [K in keyof FeedClock]: FeedClock[K] } = {
    startedAt: Date.now(),
    lastMessageAt: undefined,
    liveSince: 0,
  };
  let published: FeedStatus = feedState(clock, limits, clock.startedAt).status;
  let closed = false;
  let checkTimer: NodeJS.Timeout | undefined;

  const state = () => feedState(clock, limits, Date.now());
  const silentSeconds = () => secondsSince(clock.lastMessageAt ?? clock.startedAt);

  /** `dropSilentStream`: false when a message is arriving, on a stream that is anything but dead. */
  const publish = (dropSilentStream = true) => {
    const current = state();
    if (current.status === published) return;
    const previous = published;
    published = current.status;
    logStatusChange(logger, { current: current.status, previous, silentSec: silentSeconds(), limits });
    if (current.status === "live") liveWaiters.settleAll(true);
    else if (dropSilentStream) options.onSilent();
    stateListeners.notify(current, (err) => logger.error({ err }, "revocation feed state listener failed"));
  };

  const update = () => {
    publish();
    if (closed || checkTimer) return;
    const now = Date.now();
    const at = nextStateChangeAt(clock, limits, now);
    if (at === undefined) return;
    checkTimer = setTimeout(() => {
      checkTimer = undefined;
      update();
    }, at - now);
    checkTimer.unref();
  };

  return {
    state,
    heard(now) {
      // A change time alone made (stale, failed) that no timer has told yet — on a busy event loop
      // the timer runs late — is told before this message makes the feed live again, so every
      // status a caller may have read is logged and heard once.
      publish(false);
      if (state().status !== "live") clock.liveSince = now;
      clock.lastMessageAt = now;
    },
    update,
    onStateChange: (listener) => stateListeners.add(listener),
    ready(timeoutMs) {
      if (state().status === "live") return Promise.resolve(true);
      if (closed) return Promise.resolve(false);
      return liveWaiters.wait(timeoutMs);
    },
    silentSeconds,
    close() {
      closed = true;
      clearTimeout(checkTimer);
      liveWaiters.settleAll(false);
    },
  };
}

function logStatusChange(
  logger: Logger,
  change: { current: FeedStatus; previous: FeedStatus; silentSec: number; limits: FeedLimits },
): void {
  const { current, previous, silentSec, limits } = change;
  if (current === "live") {
    logger.info({ previous }, "revocation feed live");
  } else if (current === "stale") {
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
}

function secondsSince(t: number): number {
  return Math.max(0, Math.round((Date.now() - t) / 1000));
}
