import type { Principal } from "#kit/auth/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { recordSeenUser } from "./users.js";

/**
 * Keeps the user directory up to date from verified tokens at the cost of one write per user and
 * process, not one per request: the hot path after the first request is a map lookup.
 */
export function createSeenUserRecorder(db: Database, logger: Logger): (p: Principal) => Promise<void> {
  const recorded = new Map<string, Promise<void>>();
  return (p) => {
    if (p.anonymous) return Promise.resolve();
    const key = `${p.userId}\u0000${p.email}\u0000${p.roles.join(",")}`;
    let pending = recorded.get(key);
    if (!pending) {
      pending = recordSeenUser(db, p).catch((err: unknown) => {
        // Not fatal for the request (only assignment needs the row); try again next time.
        recorded.delete(key);
        logger.error({ err }, "could not record the user in the directory");
      });
      recorded.set(key, pending);
      if (recorded.size > 100_000) recorded.delete(recorded.keys().next().value as string);
    }
    return pending;
  };
}
