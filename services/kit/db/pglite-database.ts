import { mkdir, rm } from "node:fs/promises";
import { PGlite, type Transaction as PgliteTransaction } from "@electric-sql/pglite";
import { transactionFailure } from "./aborted-transaction.js";
import { runHooks } from "./commit-hooks.js";
import { assertChannelName } from "./listen.js";
import type { ScriptRunner, ScriptTransaction } from "./migrate.js";
import { type InitdbTemplate, isNewDataDir, sharedInitdbTemplate } from "./pglite-initdb-template.js";
import { assertPlainParams } from "./plain-params.js";
import { assertOutsideTransaction, runInTransactionScope } from "./tx-guard.js";
import { OID, parseDate, parseInt8 } from "./type-parsers.js";
import type { Database, PlainParam, QueryResult, Transaction } from "./types.js";

/** The PGlite back end, plus the script hook the migrator uses. */
export type PgliteDatabase = Database & ScriptRunner;

interface PgliteResults {
  rows: unknown[];
  rowCount?: number;
  affectedRows?: number;
}

/**
 * Opens (creating on first use) an embedded PostgreSQL persisted in `dir`.
 *
 * PGlite is one connection. Its own `transaction()` and `query()` share a mutex, so concurrent
 * callers queue instead of interleaving statements inside somebody else's BEGIN…COMMIT; we therefore
 * always go through those two methods and never send BEGIN ourselves.
 */
export async function openPgliteDatabase(
  dir: string,
  template: InitdbTemplate = sharedInitdbTemplate,
): Promise<PgliteDatabase> {
  let pg: PGlite;
  try {
    await mkdir(dir, { recursive: true });
    pg = await createPglite(dir, template);
  } catch (err) {
    throw new Error(
      `cannot open embedded database in ${dir}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }

  let closing: Promise<void> | undefined;
  const db: PgliteDatabase = {
    kind: "pglite",

    async query<R extends Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
      assertOutsideTransaction(db, "query");
      return normalise<R>(await pg.query(sql, params ? [...params] : undefined));
    },

    transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
      assertOutsideTransaction(db, "transaction");
      const committedHooks: (() => void)[] = [];
      return pg
        .transaction((tx) => runInTransactionScope(db, () => runBody(tx, fn, committedHooks)))
        .then((value) => {
          runHooks(committedHooks);
          return value;
        });
    },

    scriptTransaction<T>(fn: (tx: ScriptTransaction) => Promise<T>): Promise<T> {
      return pg.transaction((tx) => {
        const wrapped = wrapTransaction(tx, []);
        return fn({
          query: wrapped.query,
          exec: async (sql) => {
            await tx.exec(sql);
          },
        });
      });
    },

    async ping() {
      const started = performance.now();
      await db.query("SELECT 1");
      return performance.now() - started;
    },

    // In process: PGlite delivers NOTIFYs of its own (only) connection, and this process is the
    // only one that can write to the database (the data-dir lock), so nothing else could notify.
    async listen(channel, onNotification) {
      assertChannelName(channel);
      assertOutsideTransaction(db, "listen");
      const unlisten = await pg.listen(channel, (payload) => {
        try {
          onNotification(payload);
        } catch {
          // Same contract as on PostgreSQL: a failing handler does not stop later notifications.
        }
      });
      let stopped = false;
      return {
        async close() {
          if (stopped) return;
          stopped = true;
          if (!pg.closed) await unlisten().catch(() => undefined);
        },
      };
    },

    close() {
      closing ??= pg.closed ? Promise.resolve() : pg.close();
      return closing;
    },
  };
  return db;
}

/** A new directory starts from the initdb template (a third of initdb's cost); an existing one opens as it is. */
async function createPglite(dir: string, template: InitdbTemplate): Promise<PGlite> {
  const options = { parsers: { [OID.INT8]: parseInt8, [OID.DATE]: parseDate } };
  if (!(await isNewDataDir(dir))) return PGlite.create(dir, options);
  const loadDataDir = await template.get().catch(() => undefined);
  if (loadDataDir === undefined) return PGlite.create(dir, options);
  try {
    return await PGlite.create(dir, { ...options, loadDataDir });
  } catch (err) {
    // PGlite refuses to load over a cluster someone else made meanwhile: theirs, never removed. Otherwise
    // the directory was empty and is this process's alone (openDatabase holds its lock), so what is in it
    // is what the failed load wrote: a template PGlite cannot load is thrown away, initdb runs here.
    if (/already exists/i.test(String(err))) throw err;
    await template.discard();
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    return PGlite.create(dir, options);
  }
}

/** `fn` on the kit's `Transaction` over `tx`; what it sent unawaited runs before PGlite commits. */
async function runBody<T>(
  tx: PgliteTransaction,
  fn: (tx: Transaction) => Promise<T>,
  committedHooks: (() => void)[],
): Promise<T> {
  const wrapped = wrapTransaction(tx, committedHooks);
  const value = await fn(wrapped).catch(async (err: unknown) => {
    // The body's error is the one to report — unless it is only the consequence of a statement it
    // sent that failed; what it sent has run (or failed) by then.
    const sentFailure = await wrapped.finish().then(
      () => undefined,
      (failed: unknown) => failed,
    );
    throw transactionFailure(err, sentFailure);
  });
  // A sent statement that failed rejects here, and PGlite rolls the transaction back.
  await wrapped.finish();
  return value;
}

/**
 * The kit's `Transaction` over PGlite's. One connection runs one statement at a time, so every
 * statement, queried or sent, joins one queue in the order issued, as on PostgreSQL's connection.
 * `finish` ends the body's use of it (as on PostgreSQL, nothing is run after the body returned) and
 * settles when all sent statements have run, rejecting with the first that failed.
 */
function wrapTransaction(
  tx: PgliteTransaction,
  committedHooks: (() => void)[],
): Transaction & { finish(): Promise<void> } {
  let queue: Promise<unknown> = Promise.resolve();
  let failed: { readonly err: unknown } | undefined;
  let ended = false;
  /** `sql` once every statement issued before it has run, whatever their outcome. */
  const enqueue = (sql: string, params?: readonly unknown[]) => {
    if (ended) throw new Error("Transaction is closed");
    const run = queue.then(() => tx.query(sql, params ? [...params] : undefined));
    queue = run.catch(() => undefined);
    return run;
  };
  return {
    async query<R extends Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
      // After a failed send, the statement runs and meets PostgreSQL's "transaction is aborted".
      return normalise<R>(await enqueue(sql, params));
    },
    send(sql: string, params?: readonly PlainParam[]) {
      assertPlainParams(params);
      enqueue(sql, params).catch((err: unknown) => {
        failed ??= { err };
      });
    },
    afterCommit(fn: () => void) {
      if (ended) throw new Error("Transaction is closed");
      committedHooks.push(fn);
    },
    async finish() {
      ended = true;
      await queue;
      if (failed) throw failed.err;
    },
  };
}

function normalise<R>(result: PgliteResults): QueryResult<R> {
  return { rows: result.rows as R[], rowCount: result.rowCount ?? result.affectedRows ?? 0 };
}
