import { mkdir, rm } from "node:fs/promises";
import { PGlite, type Transaction } from "@electric-sql/pglite";
import { assertChannelName } from "./listen.js";
import type { ScriptRunner, ScriptTransaction } from "./migrate.js";
import { type InitdbTemplate, isNewDataDir, sharedInitdbTemplate } from "./pglite-initdb-template.js";
import { assertOutsideTransaction, runInTransactionScope } from "./tx-guard.js";
import { OID, parseDate, parseInt8 } from "./type-parsers.js";
import type { Database, Queryable, QueryResult } from "./types.js";

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

    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      assertOutsideTransaction(db, "transaction");
      return pg.transaction((tx) => runInTransactionScope(db, () => fn(wrapTransaction(tx))));
    },

    scriptTransaction<T>(fn: (tx: ScriptTransaction) => Promise<T>): Promise<T> {
      return pg.transaction((tx) => {
        const wrapped = wrapTransaction(tx);
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

function wrapTransaction(tx: Transaction): Queryable {
  return {
    async query<R extends Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
      return normalise<R>(await tx.query(sql, params ? [...params] : undefined));
    },
  };
}

function normalise<R>(result: PgliteResults): QueryResult<R> {
  return { rows: result.rows as R[], rowCount: result.rowCount ?? result.affectedRows ?? 0 };
}
