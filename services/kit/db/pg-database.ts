import type { ScriptRunner, ScriptTransaction } from "./migrate.js";
import { createPgListen } from "./pg-listen.js";
import { CONNECT_TIMEOUT_MS, createPgPool, type PgPool } from "./pg-pool.js";
import { isStatementOutOfStep, runStatement } from "./pg-statement.js";
import { normaliseResult, pgTransaction, withPgTransaction } from "./pg-transaction.js";
import { parseDatabaseUrl, removeKnownSecrets } from "./redact.js";
import { assertOutsideTransaction, runInTransactionScope } from "./tx-guard.js";
import type { Database, DatabaseLogger, Transaction } from "./types.js";

/** The PostgreSQL back end, plus the script hook the migrator uses. */
export type PgDatabase = Database & ScriptRunner;

/**
 * Connects to PostgreSQL with every pooled connection confined to `schema` (`createPgPool`), creating
 * the schema if needed. Rejects within the connect timeout with a message that names the server but
 * never the password.
 */
export async function openPgDatabase(
  databaseUrl: string,
  schema: string,
  logger?: DatabaseLogger,
  options: { readOnly?: boolean } = {},
): Promise<PgDatabase> {
  const { redacted, secrets } = parseDatabaseUrl(databaseUrl);
  const safe = (err: unknown) =>
    removeKnownSecrets(err instanceof Error ? err.message : String(err), secrets);
  const pool = createPgPool({ databaseUrl, redacted, schema, readOnly: options.readOnly, safe, logger });
  // LISTEN needs a session of its own (see pg-listen.ts): same server and credentials, outside the pool.
  const listeners = createPgListen({
    clientConfig: {
      connectionString: databaseUrl,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      application_name: `support-ext:${schema}:listen`,
      keepAlive: true,
    },
    safe,
    logger,
  });
  const db = pgDatabase(pool, listeners);
  try {
    if (!options.readOnly) await createSchema(pool, schema);
    await assertSearchPathApplied(db, schema);
  } catch (err) {
    await db.close().catch(() => undefined);
    const message = safe(err);
    throw new Error(
      message.startsWith("cannot connect")
        ? message
        : `PostgreSQL at ${redacted}, schema "${schema}": ${message}`,
    );
  }
  return db;
}

/** The `Database` over a pool, with the LISTEN connections `close` ends too. */
function pgDatabase({ pool, connect }: PgPool, listeners: ReturnType<typeof createPgListen>): PgDatabase {
  let closing: Promise<void> | undefined;
  const db: PgDatabase = {
    kind: "postgres",

    async query<R extends Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
      assertOutsideTransaction(db, "query");
      try {
        return await queryOnce<R>(connect, sql, params);
      } catch (err) {
        // A connection whose prepared statements are out of step with the server (a migration
        // changed a statement's result columns): once more, on another connection, prepared
        // afresh (a lone statement is safe to repeat: it did not run).
        if (!isStatementOutOfStep(err)) throw err;
        return queryOnce<R>(connect, sql, params);
      }
    },

    transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T> {
      assertOutsideTransaction(db, "transaction");
      return withPgTransaction(connect, (handle) =>
        runInTransactionScope(db, () => fn(pgTransaction(handle))),
      );
    },

    scriptTransaction<T>(fn: (tx: ScriptTransaction) => Promise<T>): Promise<T> {
      return withPgTransaction(connect, (handle) => {
        const tx = pgTransaction(handle);
        return fn({
          query: tx.query,
          // No parameters → simple query protocol, which accepts several statements.
          exec: async (sql) => {
            await handle.client.query(sql);
          },
        });
      });
    },

    async ping() {
      const started = performance.now();
      await db.query("SELECT 1");
      return performance.now() - started;
    },

    listen: listeners.listen,

    close() {
      closing ??= Promise.all([listeners.closeAll(), pool.end()]).then(() => undefined);
      return closing;
    },
  };
  return db;
}

async function queryOnce<R extends Record<string, unknown>>(
  connect: PgPool["connect"],
  sql: string,
  params: readonly unknown[] | undefined,
) {
  const client = await connect();
  let brokenBy: Error | undefined;
  try {
    return normaliseResult<R>(
      await runStatement(client, sql, params, (err) => {
        brokenBy = err;
      }),
    );
  } finally {
    // A broken connection is destroyed instead of being handed to the next caller.
    client.release(brokenBy);
  }
}

async function createSchema({ connect }: PgPool, schema: string): Promise<void> {
  await withPgTransaction(connect, async ({ client }) => {
    // Two replicas may create the schema at the same moment; IF NOT EXISTS alone still races.
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [
      `support-ext:schema:${schema}`,
    ]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  });
}

async function assertSearchPathApplied(db: Database, schema: string): Promise<void> {
  const { rows } = await db.query<{ schema: string | null }>("SELECT current_schema() AS schema");
  if (rows[0]?.schema !== schema) {
    // E.g. a pooler that drops startup options: tables would silently land in the wrong schema.
    throw new Error(
      `search_path is not applied (current_schema() = ${String(rows[0]?.schema)}, expected ${schema})`,
    );
  }
}
