import pg from "pg";
import { mapInt8Array, OID, parseDate, parseInt8 } from "./type-parsers.js";
import type { DatabaseLogger } from "./types.js";

/** Pool bounds: enough for a service's concurrency, small enough that 4 services fit a default server. */
const POOL_MAX = 10;
/** Fail instead of hanging when the server is unreachable or the pool stays exhausted. */
export const CONNECT_TIMEOUT_MS = 5_000;
/**
 * A pooled connection idle this long is closed (pg's own default): each one is a PostgreSQL server
 * process of 12–15 MB, and a quiet service needs none of them; the next query opens one again
 * (docs/performance.md, "Idle memory of `npm start`").
 */
const IDLE_TIMEOUT_MS = 10_000;

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

export interface PgPoolSettings {
  readonly databaseUrl: string;
  /** The URL with its password replaced, for messages. */
  readonly redacted: string;
  readonly schema: string;
  readonly readOnly?: boolean | undefined;
  /** An error's message with every known secret removed (the URL's password). */
  readonly safe: (err: unknown) => string;
  readonly logger?: DatabaseLogger | undefined;
}

export interface PgPool {
  readonly pool: pg.Pool;
  /** A pooled client; a failure names the server (never the password) and keeps pg's error code. */
  connect(): Promise<pg.PoolClient>;
}

/**
 * The pool of a service's connections, every one confined to `schema` (via the `search_path`
 * startup option, so it holds for every connection the pool ever opens, not just the first) and
 * read-only when asked.
 */
export function createPgPool(settings: PgPoolSettings): PgPool {
  const { schema, safe, logger } = settings;
  const pool = new pg.Pool({
    connectionString: settings.databaseUrl,
    max: POOL_MAX,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: IDLE_TIMEOUT_MS,
    options: `-c search_path=${schema}${settings.readOnly ? " -c default_transaction_read_only=on" : ""}`,
    application_name: `support-ext:${schema}`,
    types,
    // Each statement is written as soon as it is issued, without waiting for the answer to the one
    // before (node-postgres' pipelining). A pooled connection runs one caller's statements at a
    // time, so only a transaction has several in flight: its last statements with its COMMIT
    // (pg-transaction.ts).
    pipeline: true,
  });
  // An idle client losing its connection emits 'error' on the pool; unhandled, that kills the process.
  pool.on("error", (err) => {
    logger?.error?.({ err: safe(err), schema }, "database pool: idle connection failed");
  });
  return {
    pool,
    async connect() {
      try {
        return await pool.connect();
      } catch (err) {
        const wrapped = new Error(`cannot connect to PostgreSQL at ${settings.redacted}: ${safe(err)}`);
        const code = (err as { code?: unknown }).code;
        if (typeof code === "string") Object.assign(wrapped, { code });
        throw wrapped;
      }
    },
  };
}
