import type pg from "pg";
import { runStatement } from "./pg-statement.js";
import type { Queryable, QueryResult } from "./types.js";

/**
 * Runs `fn` with one pooled client, whether its transaction is still open, and `broken`: what the
 * body calls when the connection must not go back to the pool (`runStatement`).
 */
export type TransactionBody<T> = (
  client: pg.PoolClient,
  isOpen: () => boolean,
  broken: (err: Error) => void,
) => Promise<T>;

/**
 * BEGIN/COMMIT around `fn` on one pooled client; ROLLBACK and rethrow on any throw. A connection the
 * body found broken is destroyed however the transaction ended (its body may have caught the error),
 * never handed to the next caller.
 */
export async function withPgTransaction<T>(
  connect: () => Promise<pg.PoolClient>,
  fn: TransactionBody<T>,
): Promise<T> {
  const client = await connect();
  let open = true;
  let brokenBy: Error | undefined;
  const isOpen = () => open;
  const broken = (err: Error) => {
    brokenBy ??= err;
  };
  try {
    await client.query("BEGIN");
    const result = await fn(client, isOpen, broken);
    open = false;
    const commit = await client.query("COMMIT");
    // PostgreSQL answers COMMIT of an aborted transaction with ROLLBACK, no error; PGlite throws.
    // Throw here too, so a swallowed SQL error inside `fn` can't look like success.
    if (commit.command === "ROLLBACK") {
      throw new Error("transaction was aborted by an earlier error and has been rolled back");
    }
    client.release(brokenBy);
    return result;
  } catch (err) {
    open = false;
    try {
      await client.query("ROLLBACK");
      client.release(brokenBy);
    } catch (rollbackErr) {
      // The connection is in an unknown state: destroy it rather than return it to the pool.
      client.release(rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr)));
    }
    throw err;
  }
}

/** The `tx` a transaction body gets: its client's `query`, refused once the transaction has ended. */
export function transactionQueryable(
  client: pg.PoolClient,
  isOpen: () => boolean,
  broken: (err: Error) => void,
): Queryable {
  return {
    async query<R extends Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
      // The client goes back to the pool when the transaction ends; a late query must not run on it.
      if (!isOpen()) throw new Error("Transaction is closed");
      return normaliseResult<R>(await runStatement(client, sql, params, broken));
    },
  };
}

export function normaliseResult<R>(result: pg.QueryResult): QueryResult<R> {
  return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
}
