import { Code, ConnectError } from "@connectrpc/connect";
import type { Config } from "#kit/config/index.js";
import type { Logger } from "#kit/log/index.js";

/**
 * What one user may start at chat (docs/chat.md, "Limits per user"): each turn runs a model and
 * tools, and each thread and message is stored, so without a bound one user — or one stolen
 * token — could spend the model budget and the database of everyone. 0 turns a limit off.
 */
export interface UserLimits {
  /** New turns in any 60 s. */
  readonly turnsPerMinute: number;
  /** Turns running at once (a turn waiting for a yes is not running). */
  readonly openTurns: number;
  /** New threads in any 60 s. */
  readonly threadsPerMinute: number;
}

export const NO_USER_LIMITS: UserLimits = { turnsPerMinute: 0, openTurns: 0, threadsPerMinute: 0 };

export function userLimitsOf(config: Config): UserLimits {
  return {
    turnsPerMinute: config.CHAT_USER_TURNS_PER_MINUTE,
    openTurns: config.CHAT_USER_OPEN_TURNS,
    threadsPerMinute: config.CHAT_USER_THREADS_PER_MINUTE,
  };
}

/** The window the per-minute limits count in. */
export const LIMIT_WINDOW_S = 60;

/** A limit the user reached: which, what it is, and when trying again can succeed. */
export interface LimitReached {
  /** `busy`: the user's lock stayed held past LOCK_WAIT (their other calls at once). */
  readonly limit: "turns_per_minute" | "open_turns" | "threads_per_minute" | "busy" | "waiting_repeats";
  readonly allowed: number;
  readonly retryAfterSec: number;
}

/** When a running turn ends is unknown: look again after this long. */
export const OPEN_TURNS_RETRY_S = 2;

/** `resource_exhausted` with `retry-after` (seconds), as the identity service's login throttle answers. */
export function limitReachedError(reached: LimitReached): ConnectError {
  const wait = Math.max(1, Math.ceil(reached.retryAfterSec));
  const what = {
    turns_per_minute: `too many messages: at most ${reached.allowed} a minute; try again in ${wait} s`,
    open_turns: `too many messages under way: at most ${reached.allowed} at once; try again when one has been answered`,
    threads_per_minute: `too many new threads: at most ${reached.allowed} a minute; try again in ${wait} s`,
    busy: `too many of your requests at once; try again in ${wait} s`,
    waiting_repeats: `too many repeats waiting for messages under way: at most ${reached.allowed} at once; try again in ${wait} s`,
  }[reached.limit];
  return new ConnectError(what, Code.ResourceExhausted, { "retry-after": String(wait) });
}

/** Thrown inside a store's transaction to roll back what it inserted before it counted. */
export class UserLimitReached extends Error {
  constructor(readonly reached: LimitReached) {
    super(`user limit reached: ${reached.limit}`);
  }
}

/**
 * Runs `open` (a store's insert under `limits`); a limit it reached becomes the caller's
 * `resource_exhausted`, and a warning naming the user and the limit (never what they sent).
 */
export async function refusedOverLimit<T>(
  logger: Logger,
  userId: string,
  open: () => Promise<T>,
): Promise<T> {
  try {
    return await open();
  } catch (err) {
    if (!(err instanceof UserLimitReached)) throw err;
    const { limit, allowed } = err.reached;
    logger.warn({ user_id: userId, limit, allowed }, "user limit reached");
    throw limitReachedError(err.reached);
  }
}
