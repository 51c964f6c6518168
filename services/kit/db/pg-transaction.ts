import type pg from "pg";
import { transactionFailure } from "./aborted-transaction.js";
import { runHooks } from "./commit-hooks.js";
import { runStatement, type StatementOptions } from "./pg-statement.js";
import { assertPlainParams } from "./plain-params.js";
import type { PlainParam, QueryResult, Transaction } from "./types.js";

/** What a transaction's body works with: its pooled client and the transaction's state. */
export interface PgTransactionHandle {
  readonly client: pg.PoolClient;
  /** Whether the transaction is still open (false once the body has returned or thrown). */
  isOpen(): boolean;
  /** What the body calls when the connection must not go back to the pool (`runStatement`). */
  broken(err: Error): void;
  /** A statement sent without being waited for: the COMMIT waits for it, and fails with it. */
  sent(statement: Promise<unknown>): void;
  /** `fn` is run once the COMMIT succeeded. */
  afterCommit(fn: () => void): void;
}

/**
 * BEGIN/COMMIT around `fn` on one pooled client; ROLLBACK and rethrow on any throw. A connection the
 * body found broken is destroyed however the transaction ended (its body may have caught the error),
 * never handed to the next caller.
 *
 * The pool's connections pipeline (pg-pool.ts): the COMMIT follows the statements the body sent
 * without waiting (`Transaction.send`) with no round trip between. BEGIN is waited for: a BEGIN the
 * server refused (a cancel landing on it) would leave every statement behind it committing on its
 * own, a change without its audit row among them.
 */
export async function withPgTransaction<T>(
  connect: () => Promise<pg.PoolClient>,
  fn: (handle: PgTransactionHandle) => Promise<T>,
): Promise<T> {
  const client = await connect();
  let open = true;
  let brokenBy: Error | undefined;
  const unawaited: Promise<unknown>[] = [];
  const committedHooks: (() => void)[] = [];
  const handle: PgTransactionHandle = {
    client,
    isOpen: () => open,
    broken: (err) => {
      brokenBy ??= err;
    },
    sent: (statement) => {
      // Observed here so its failure is never unhandled; reported by the commit below.
      statement.catch(() => undefined);
      unawaited.push(statement);
    },
    afterCommit: (fn) => {
      committedHooks.push(fn);
    },
  };
  try {
    await client.query("BEGIN");
    const result = await fn(handle);
    open = false;
    const committing = client.query("COMMIT");
    committing.catch(() => undefined);
    const failed = await firstFailure(unawaited);
    const commit = await committing;
    if (failed) {
      // A statement sent unawaited failed. The server aborted the transaction, so its COMMIT rolled
      // back; it cannot have committed: a sent statement's parameters cannot fail to encode
      // (plain-params.ts) and its rows are not parsed (`rawRows`).
      if (commit.command !== "ROLLBACK") {
        // This process and the server disagree about the connection: it goes, not back to the pool.
        brokenBy ??= failed;
        throw new Error(
          `a statement sent in this transaction failed in this process, yet its COMMIT was accepted: ${failed.message}`,
        );
      }
      throw failed;
    }
    // PostgreSQL answers COMMIT of an aborted transaction with ROLLBACK, no error; PGlite throws.
    // Throw here too, so a swallowed SQL error inside `fn` can't look like success.
    if (commit.command === "ROLLBACK") {
      throw new Error("transaction was aborted by an earlier error and has been rolled back");
    }
    client.release(brokenBy);
    runHooks(committedHooks);
    return result;
  } catch (err) {
    open = false;
    const failure = transactionFailure(err, await firstFailure(unawaited));
    try {
      await client.query("ROLLBACK");
      client.release(brokenBy);
    } catch (rollbackErr) {
      // The connection is in an unknown state: destroy it rather than return it to the pool.
      client.release(rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr)));
    }
    throw failure;
  }
}

/** The first of `statements` (in the order sent) that failed, once all have settled. */
async function firstFailure(statements: readonly Promise<unknown>[]): Promise<Error | undefined> {
  for (const outcome of await Promise.allSettled(statements)) {
    if (outcome.status === "rejected") {
      const reason: unknown = outcome.reason;
      return reason instanceof Error ? reason : new Error(String(reason));
    }
  }
  return undefined;
}

/** The `tx` a transaction body gets: its client's `query` and `send`, refused once it has ended. */
export function pgTransaction(handle: PgTransactionHandle): Transaction {
  const { client, isOpen, broken } = handle;
  const run = (sql: string, params: readonly unknown[] | undefined, options?: StatementOptions) => {
    // The client goes back to the pool when the transaction ends; a late query must not run on it.
    if (!isOpen()) throw new Error("Transaction is closed");
    return runStatement(client, sql, params, broken, options);
  };
  return {
    async query<R extends Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
      return normaliseResult<R>(await run(sql, params));
    },
    send(sql: string, params?: readonly PlainParam[]) {
      assertPlainParams(params);
      handle.sent(run(sql, params, { rawRows: true }));
    },
    afterCommit(fn: () => void) {
      if (!isOpen()) throw new Error("Transaction is closed");
      handle.afterCommit(fn);
    },
  };
}

export function normaliseResult<R>(result: pg.QueryResult): QueryResult<R> {
  return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
}
