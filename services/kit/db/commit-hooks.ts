/**
 * Runs what waited for a transaction's commit (`Transaction.afterCommit`), once it committed: one
 * hook's throw neither stops the others nor undoes the commit, which is what the caller is told.
 */
export function runHooks(hooks: readonly (() => void)[]): void {
  for (const hook of hooks) {
    try {
      hook();
    } catch {
      // The transaction committed.
    }
  }
}
