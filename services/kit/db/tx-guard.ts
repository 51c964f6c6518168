import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Detects a call to `db.query()`/`db.transaction()` made from inside that same database's transaction
 * callback. On PGlite (a single connection whose public methods share one mutex) such a call waits for
 * the transaction, which waits for the call: a silent, permanent hang. On PostgreSQL it runs outside
 * the transaction, usually a bug too. Failing fast with a clear message is better on both.
 */

interface Scope {
  readonly owner: object;
  open: boolean;
}

const scopes = new AsyncLocalStorage<readonly Scope[]>();

/** Runs `fn` marked as "inside a transaction of `owner`" until it settles. */
export async function runInTransactionScope<T>(owner: object, fn: () => Promise<T>): Promise<T> {
  const scope: Scope = { owner, open: true };
  const parent = scopes.getStore() ?? [];
  try {
    return await scopes.run([...parent, scope], fn);
  } finally {
    // Work scheduled from inside the callback that runs later (timers, un-awaited promises) keeps the
    // async context; once the transaction is over it may use the database normally.
    scope.open = false;
  }
}

/** Throws if called (synchronously or asynchronously) from inside an open transaction of `owner`. */
export function assertOutsideTransaction(owner: object, method: string): void {
  const active = scopes.getStore();
  if (active?.some((s) => s.owner === owner && s.open)) {
    throw new Error(
      `db.${method}() called inside db.transaction(); use the tx argument instead (this would deadlock on PGlite)`,
    );
  }
}
