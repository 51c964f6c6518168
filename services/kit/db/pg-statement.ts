import pg from "pg";

/**
 * How many distinct statement texts a process prepares by name. The product's SQL is written in its
 * sources, so the texts are few (tens); a text built at run time beyond this bound runs unnamed, as
 * every statement did before, rather than filling each connection with statements never used again.
 */
export const MAX_NAMED_STATEMENTS = 512;

let generation = 0;
const names = new Map<string, string>();

/**
 * The query `client.query` runs for `sql`: with parameters, a named prepared statement, so that each
 * pooled connection parses and plans a statement once and then only binds and executes it
 * (PostgreSQL's extended protocol; docs/performance.md, "Prepared statements"). Measured on the
 * chain bench: PostgreSQL's CPU per warm turn 4.3 → 2.8 ms. Without parameters the simple protocol,
 * which also accepts several statements in one text (the migrator's scripts).
 */
export function pgStatement(sql: string, params?: readonly unknown[]): pg.QueryConfig {
  if (!params) return { text: sql };
  return { name: statementName(sql), text: sql, values: [...params] };
}

function statementName(sql: string): string | undefined {
  const known = names.get(sql);
  if (known !== undefined || names.size >= MAX_NAMED_STATEMENTS) return known;
  const name = `support_ext_${generation}_${names.size}`;
  names.set(sql, name);
  return name;
}

/**
 * Whether PostgreSQL refused a prepared statement whose result columns changed under it (a column's
 * type altered, by a migration another replica ran during a rolling deploy): error 0A000. The plan
 * is re-made on its own for any other schema change; this one needs the statement prepared again.
 */
export function isStalePreparedStatement(err: unknown): boolean {
  return (
    err instanceof pg.DatabaseError &&
    err.code === "0A000" &&
    /cached plan must not change result type/.test(err.message)
  );
}

/**
 * After a stale statement: every text gets a new name, so each connection prepares it afresh on its
 * next use instead of meeting the same refusal; the connection that met it is destroyed by the
 * caller, and the old statements go with the others as the pool recycles them.
 */
export function prepareStatementsAgain(): void {
  generation++;
  names.clear();
}
