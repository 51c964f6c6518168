import type { ListenFn } from "./listen.js";

/**
 * The one data-layer contract every service codes against (docs/architecture.md, "Data": "same SQL, same migrations,
 * one small data layer shared by all"). Services write plain PostgreSQL with `$1` placeholders; whether
 * it runs on embedded PGlite or on a real server is a deployment choice made by `openDatabase`.
 *
 * Value mapping (identical on both back ends, see `type-parsers.ts`):
 * - `timestamptz` → `Date`; `timestamp` (without time zone) → `Date` read in the process's local zone on
 *   both, so prefer `timestamptz`
 * - `int2`/`int4`/`int8` (including `count(*)`, `bigserial`) and `int8[]` → `number`; an `int8` beyond
 *   ±(2^53−1) makes the query reject with a RangeError instead of silently losing precision
 *   (select it as `::text` if you really need such values)
 * - `numeric` → `string` (exact decimal; convert deliberately)
 * - `date` → `"YYYY-MM-DD"` string (a calendar day has no time zone; a `Date` would shift it)
 * - `json`/`jsonb` → parsed JSON value. As a parameter, pass `JSON.stringify(value)`: `pg` turns a JS
 *   array into a PostgreSQL array literal, so only a string is portable for JSON arrays.
 * - `bytea` → `Uint8Array` (a `Buffer` on postgres)
 * - `rowCount` is the command tag's row count (rows returned, inserted, updated, deleted), 0 for DDL.
 */

/** Result of one statement. */
export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

/** Anything that can run one SQL statement: the database itself or an open transaction. */
export interface Queryable {
  query<R extends Record<string, unknown> = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<QueryResult<R>>;
}

/** A parameter of `Transaction.send`: a value the driver cannot fail to encode. */
export type PlainParam = string | number | boolean | null;

/** The `tx` a transaction's body gets. */
export interface Transaction extends Queryable {
  /**
   * Sends `sql` now, behind whatever this transaction has in flight, without waiting for its answer:
   * the statements after it and the COMMIT follow it on the connection with no round trip between
   * (PostgreSQL's pipelining, docs/architecture.md, "Data"). For the last statements of a change,
   * whose results the body does not need: an UPDATE whose row is known, an append. Its rows are not
   * read. If it fails, the database aborts the transaction: the COMMIT rolls it back, and
   * `transaction()` rejects with this statement's error (a `query` the body still awaits after it
   * gets PostgreSQL's "current transaction is aborted", 25P02). Parameters are plain values (text — JSON as
   * text —, numbers, booleans, null), so none can fail to encode and leave the statement unsent;
   * anything else throws here, before anything is sent.
   */
  send(sql: string, params?: readonly PlainParam[]): void;
  /**
   * Runs `fn` once this transaction has committed, never if it rolls back: for what must count only
   * a change that was made (a metric). A throw from `fn` is ignored: the commit stands.
   */
  afterCommit(fn: () => void): void;
}

export interface Database extends Queryable {
  readonly kind: "pglite" | "postgres";
  /**
   * Runs `fn` inside BEGIN/COMMIT; any throw rolls back and is rethrown. Use only `tx` inside `fn`:
   * calling this database's `query`/`transaction` from inside `fn` throws, because on PGlite (one
   * connection) it would wait for the transaction that is waiting for it, i.e. hang forever.
   * Transactions do not nest. COMMIT of a transaction that hit an SQL error (swallowed by `fn`) rejects.
   */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Round-trip time in milliseconds of `SELECT 1` (for health checks). */
  ping(): Promise<number>;
  /**
   * `LISTEN channel`: `onNotification` gets the payload of every `pg_notify(channel, payload)`
   * committed after this resolves (see `listen.ts`). On PostgreSQL it holds a dedicated connection,
   * re-opened when lost (`onReconnected` then says notifications may have been missed); on PGlite
   * it delivers in process the notifications of this process, the only one that can write there.
   * `close()` of the database stops every listener. Optional only so that hand-written test doubles
   * of this interface stay valid: both back ends implement it.
   */
  listen?: ListenFn;
  /** Releases the connection pool or embedded instance. Idempotent. */
  close(): Promise<void>;
}

/** A schema change. Migrations are applied in array order, each once, in its own transaction. */
export interface Migration {
  /** Stable, unique identifier recorded in `schema_migrations`, e.g. "0001_threads". */
  readonly id: string;
  /** One or more SQL statements. */
  readonly sql: string;
}

/** Structured logger subset (pino-compatible). */
export interface DatabaseLogger {
  info(obj: object, msg: string): void;
  error?(obj: object, msg: string): void;
}
