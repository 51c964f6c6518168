import pg from "pg";

/**
 * How many distinct statement texts a process prepares by name. The product's SQL is written in its
 * sources, so the texts are few (tens); a text built at run time beyond this bound runs unnamed, as
 * every statement did before, rather than filling each connection with statements never used again.
 */
export const MAX_NAMED_STATEMENTS = 512;

let generation = 0;
const names = new Map<string, string>();
const prefix = () => `support_ext_${generation}_`;

/**
 * The query `client.query` runs for `sql`: with parameters, a named prepared statement, so that each
 * pooled connection parses and analyses a text once and then only binds and executes it, and
 * PostgreSQL's plan cache can keep its plan (PostgreSQL's extended protocol; docs/performance.md,
 * "Prepared statements"). Measured on the chain bench: PostgreSQL's CPU per warm turn 4.1–4.5 →
 * 2.8–3.2 ms. Without parameters the simple protocol, as node-postgres itself does, which also
 * accepts several statements in one text (the migrator's scripts).
 */
export function pgStatement(sql: string, params?: readonly unknown[]): pg.QueryConfig {
  if (!params || params.length === 0) return { text: sql };
  return { name: statementName(sql), text: sql, values: [...params] };
}

function statementName(sql: string): string | undefined {
  const known = names.get(sql);
  if (known !== undefined || names.size >= MAX_NAMED_STATEMENTS) return known;
  const name = `${prefix()}${names.size}`;
  names.set(sql, name);
  return name;
}

/** How `runStatement` reads a statement's answer. */
export interface StatementOptions {
  /**
   * Every column as the text the server sent, through no type parser (none can then fail on a value
   * the server already wrote, as the int8 parser does past 2^53): for a statement whose rows are
   * not read (`Transaction.send`).
   */
  readonly rawRows?: boolean;
}

/** Column text as it came: no parser for any type. */
const RAW_TYPES = { getTypeParser: () => (text: string) => text };

/**
 * Runs `sql` on `client` as `pgStatement` says, and calls `broken` when the connection must not be
 * used again: anything but an SQL error (a lost socket; a value that failed to convert after the
 * statement's Parse was sent, which leaves node-postgres believing in a statement the server no
 * longer holds), and a connection whose prepared statements are out of step with the server.
 */
export async function runStatement(
  client: pg.ClientBase,
  sql: string,
  params: readonly unknown[] | undefined,
  broken: (err: Error) => void,
  options: StatementOptions = {},
): Promise<pg.QueryResult> {
  const statement = pgStatement(sql, params);
  try {
    return await client.query(options.rawRows ? { ...statement, types: RAW_TYPES } : statement);
  } catch (err) {
    if (!(err instanceof pg.DatabaseError)) broken(err instanceof Error ? err : new Error(String(err)));
    else if (isStatementOutOfStep(err)) {
      broken(err);
      // A changed result type holds for every connection's statement; a missing statement (26000)
      // is this connection's alone, and destroying it is enough.
      if (err.code === "0A000") prepareStatementsAgain(statement.name);
    }
    throw err;
  }
}

/**
 * Whether PostgreSQL refused a prepared statement of this connection: its result columns changed
 * under it (a migration another replica ran during a rolling deploy altered a column's type, or
 * added or dropped one under `SELECT *`; 0A000 from `RevalidateCachedQuery`, told by the routine
 * rather than by the message, which the server's `lc_messages` may translate), or it is not there
 * (26000). The plan is re-made on its own for any other schema change.
 */
export function isStatementOutOfStep(err: unknown): boolean {
  if (!(err instanceof pg.DatabaseError)) return false;
  return (err.code === "0A000" && err.routine === "RevalidateCachedQuery") || err.code === "26000";
}

/**
 * After `failed` was refused: every text gets a new name, so each connection prepares it afresh on
 * its next use instead of meeting the same refusal; the connection that met it is destroyed by the
 * caller. Only once for a generation: the calls in flight that meet the same refusal with names of
 * an earlier generation do not start another.
 */
function prepareStatementsAgain(failed: string | undefined): void {
  if (failed === undefined || !failed.startsWith(prefix())) return;
  generation++;
  names.clear();
}

/** For specs: a process whose names start over (the named texts are the process's). */
export function forgetStatementNames(): void {
  generation++;
  names.clear();
}
