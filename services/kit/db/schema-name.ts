/** PostgreSQL's identifier length limit (NAMEDATALEN - 1). */
const MAX_IDENTIFIER_LENGTH = 63;

/**
 * Derives the schema a service owns on a shared PostgreSQL server ("mcp-server" → "mcp_server").
 * The result only ever contains [a-z0-9_] and starts with a letter or underscore, so it is safe to
 * splice into SQL and into the `-c search_path=` startup option without quoting surprises.
 */
export function toSchemaName(name: string): string {
  let schema = name
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, "_")
    .slice(0, MAX_IDENTIFIER_LENGTH);
  if (/^[0-9]/.test(schema)) schema = `s_${schema}`.slice(0, MAX_IDENTIFIER_LENGTH);
  if (schema.replace(/_/g, "") === "") {
    throw new Error(`cannot derive a PostgreSQL schema name from ${JSON.stringify(name)}`);
  }
  if (schema.startsWith("pg_")) {
    // pg_* is reserved for system schemas; CREATE SCHEMA would fail with a less obvious error.
    throw new Error(`schema name ${JSON.stringify(schema)} is reserved (pg_ prefix)`);
  }
  return schema;
}
