import type { Database, Transaction } from "#kit/db/index.js";
import { UserLimitReached } from "./user-limits.js";

/** How long a call waits for a lock — the user's, held by their other calls — before it is refused. */
export const LOCK_WAIT_MS = 1_000;

/**
 * A transaction for counting a user's turns or threads and admitting one (docs/chat.md, "Limits
 * per user"), in which `lockUser` takes the user's lock. READ COMMITTED whatever the server's
 * default: each statement after the lock then sees what the previous holder committed (under
 * REPEATABLE READ the snapshot would date from before the wait). A lock held past LOCK_WAIT_MS is
 * refused as `busy` rather than waited for, so one user's calls cannot keep the connection pool
 * waiting.
 */
export async function inLimitedTransaction<T>(db: Database, fn: (tx: Transaction) => Promise<T>): Promise<T> {
  try {
    return await db.transaction(async (tx) => {
      atReadCommitted(tx);
      tx.send(`SET LOCAL lock_timeout = ${LOCK_WAIT_MS}`);
      return await fn(tx);
    });
  } catch (err) {
    // 55P03 lock_not_available: lock_timeout ran out.
    if ((err as { code?: unknown }).code === "55P03") {
      throw new UserLimitReached({ limit: "busy", allowed: 0, retryAfterSec: 1 });
    }
    throw err;
  }
}

/**
 * Runs the rest of `tx` at READ COMMITTED whatever the server's default: a statement after a wait
 * for a lock then sees what the holder committed (REPEATABLE READ would judge by a snapshot from
 * before the wait, or fail with 40001). Sent first, unawaited.
 */
export function atReadCommitted(tx: Transaction): void {
  tx.send("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
}

/**
 * Takes the user's lock until the transaction ends, so that one user's counting and what it admits
 * happen one call after another, across every chat replica: two turns begun at once would otherwise
 * each count the other's absent and both pass a limit. A transaction-scoped advisory lock on a
 * 64-bit hash of the schema and the user's id, released by COMMIT or ROLLBACK: advisory locks are
 * per database, and two deployments sharing one server in schemas of their own must not wait for
 * each other's users. Sent unawaited: the next statement runs once it is held.
 */
export function lockUser(tx: Transaction, userId: string): void {
  tx.send("SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '.chat.user:' || $1, 0))", [
    userId,
  ]);
}
