/**
 * The error a transaction reports when its body failed: after a statement sent unawaited failed,
 * PostgreSQL refuses every later statement with 25P02 (in_failed_sql_transaction, "current
 * transaction is aborted"), so a body that awaited one fails with that — the consequence. The
 * cause is the sent statement's error, and that is what the caller must see (a lock timeout, a
 * constraint): any other error of the body is its own.
 */
export function transactionFailure(bodyError: unknown, sentFailure: unknown): unknown {
  const aborted = (bodyError as { code?: unknown } | undefined)?.code === "25P02";
  return aborted && sentFailure !== undefined ? sentFailure : bodyError;
}
