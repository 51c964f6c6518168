import pg from "pg";
import type { ScriptRunner, ScriptTransaction } from "./migrate.js";
import { createPgListen } from "./pg-listen.js";
import { parseDatabaseUrl, removeKnownSecrets } from "./redact.js";
import { assertOutsideTransaction, runInTransactionScope } from "./tx-guard.js";
import { mapInt8Array, OID, parseDate, parseInt8 } from "./type-parsers.js";
import type { Database, DatabaseLogger, Queryable, QueryResult } from "./types.js";

/** The PostgreSQL back end, plus the script hook the migrator uses. */
export type PgDatabase = Database & ScriptRunner;

/** Pool bounds: enough for a service's concurrency, small enough that 4 services fit a default server. */
const POOL_MAX = 10;
/** Fail instead of hanging when the server is unreachable or the pool stays exhausted. */
const CONNECT_TIMEOUT_MS = 5_000;
const IDLE_TIMEOUT_MS = 30_000;

/**
 * Per-pool (not global `pg.types`) parsers, so other `pg` users in the process are unaffected.
 * int8 arrays go through pg's own array parser first, then each element through `parseInt8`.
 */
const types = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (format === undefined || format === "text") {
      if (oid === OID.INT8) return parseInt8;
      if (oid === OID.DATE) return parseDate;
      if (oid === OID.INT8_ARRAY) {
        const arrayOid: number = OID.INT8_ARRAY;
        const parseArray = pg.types.getTypeParser(arrayOid, "text") as (text: string) => unknown;
        return (text: string) => mapInt8Array(parseArray(text));
      }
    }
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/**
 * Connects to PostgreSQL with every pooled connection confined to `schema` (via the `search_path`
 * startup option, so it holds for every connection the pool ever opens, not just the first), creating
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

  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: POOL_MAX,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: IDLE_TIMEOUT_MS,
    options: `-c search_path=${schema}${options.readOnly ? " -c default_transaction_read_only=on" : ""}`,
    application_name: `support-ext:${schema}`,
    types,
  });
  // An idle client losing its connection emits 'error' on the pool; unhandled, that kills the process.
  pool.on("error", (err) => {
    logger?.error?.({ err: safe(err), schema }, "database pool: idle connection failed");
  });

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

  const connect = async (): Promise<pg.PoolClient> => {
    try {
      return await pool.connect();
    } catch (err) {
      const wrapped = new Error(`cannot connect to PostgreSQL at ${redacted}: ${safe(err)}`);
      const code = (err as { code?: unknown }).code;
      if (typeof code === "string") Object.assign(wrapped, { code });
      throw wrapped;
    }
  };

  /** BEGIN/COMMIT around `fn` on one pooled client; ROLLBACK and rethrow on any throw. */
  const withTransaction = async <T>(fn: (client: pg.PoolClient, isOpen: () => boolean) => Promise<T>) => {
    const client = await connect();
    let open = true;
    const isOpen = () => open;
    try {
      await client.query("BEGIN");
      const result = await fn(client, isOpen);
      open = false;
      const commit = await client.query("COMMIT");
      // PostgreSQL answers COMMIT of an aborted transaction with ROLLBACK, no error; PGlite throws.
      // Throw here too, so a swallowed SQL error inside `fn` can't look like success.
      if (commit.command === "ROLLBACK") {
        throw new Error("transaction was aborted by an earlier error and has been rolled back");
      }
      client.release();
      return result;
    } catch (err) {
      open = false;
      try {
        await client.query("ROLLBACK");
        client.release();
      } catch (rollbackErr) {
        // The connection is in an unknown state: destroy it rather than return it to the pool.
        client.release(rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr)));
      }
      throw err;
    }
  };

  const txQueryable = (client: pg.PoolClient, isOpen: () => boolean): Queryable => ({
    async query<R extends Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
      // The client goes back to the pool when the transaction ends; a late query must not run on it.
      if (!isOpen()) throw new Error("Transaction is closed");
      return normalise<R>(await client.query(sql, params ? [...params] : undefined));
    },
  });

  let closing: Promise<void> | undefined;
  const db: PgDatabase = {
    kind: "postgres",

    async query<R extends Record<string, unknown>>(sql: string, params?: readonly unknown[]) {
      assertOutsideTransaction(db, "query");
      const client = await connect();
      let broken: Error | undefined;
      try {
        return normalise<R>(await client.query(sql, params ? [...params] : undefined));
      } catch (err) {
        // An SQL error leaves the connection fine; anything else (socket loss, parser throw) may not,
        // so such a connection is destroyed instead of being handed to the next caller.
        if (!(err instanceof pg.DatabaseError)) broken = err instanceof Error ? err : new Error(String(err));
        throw err;
      } finally {
        client.release(broken);
      }
    },

    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      assertOutsideTransaction(db, "transaction");
      return withTransaction((client, isOpen) =>
        runInTransactionScope(db, () => fn(txQueryable(client, isOpen))),
      );
    },

    scriptTransaction<T>(fn: (tx: ScriptTransaction) => Promise<T>): Promise<T> {
      return withTransaction((client, isOpen) => {
        const tx = txQueryable(client, isOpen);
        return fn({
          query: tx.query,
          // No parameters → simple query protocol, which accepts several statements.
          exec: async (sql) => {
            await client.query(sql);
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

  try {
    if (!options.readOnly)
      await withTransaction(async (client) => {
        // Two replicas may create the schema at the same moment; IF NOT EXISTS alone still races.
        await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [
          `support-ext:schema:${schema}`,
        ]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      });
    const { rows } = await db.query<{ schema: string | null }>("SELECT current_schema() AS schema");
    if (rows[0]?.schema !== schema) {
      // E.g. a pooler that drops startup options: tables would silently land in the wrong schema.
      throw new Error(
        `search_path is not applied (current_schema() = ${String(rows[0]?.schema)}, expected ${schema})`,
      );
    }
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

function normalise<R>(result: pg.QueryResult): QueryResult<R> {
  return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
}
