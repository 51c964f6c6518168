import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

/** Where this process's `pg` is: the other process uses the same driver. */
const PG = pathToFileURL(createRequire(import.meta.url).resolve("pg")).href;

/**
 * The other process: runs `SQL` (one or more statements) on a connection of its own, again while
 * its last statement's first column is false and `DEADLINE_MS` has not passed, and prints that last
 * result's rows as JSON.
 */
const SCRIPT = `
const { default: pg } = await import(process.env.PG);
const client = new pg.Client({
  connectionString: process.env.DATABASE_URL,
  options: "-c search_path=" + process.env.SEARCH_PATH,
});
await client.connect();
try {
  const deadline = Date.now() + Number(process.env.DEADLINE_MS);
  for (;;) {
    const result = await client.query(process.env.SQL);
    const rows = (Array.isArray(result) ? result.at(-1) : result).rows;
    if (Object.values(rows[0] ?? {})[0] !== false || Date.now() > deadline) {
      process.stdout.write(JSON.stringify(rows));
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
} finally {
  await client.end();
}`;

/**
 * Runs `sql` on PostgreSQL from another process while this one waits for it synchronously: this
 * process's event loop stands still the whole time, so nothing it had not already written to its
 * connections reaches the server, and no answer of the server is read. The last statement is run
 * again while its first column is false, until `deadlineMs` passes; returns its rows. For specs of
 * what the server does on its own.
 */
export function queryWhileThisProcessIsBlocked(
  target: { readonly databaseUrl: string; readonly schema: string },
  sql: string,
  deadlineMs = 20_000,
): Record<string, unknown>[] {
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", SCRIPT], {
    env: {
      // This process's own (PGPASSWORD, PGSSLMODE, HOME for .pgpass…): it connects as this one does.
      ...process.env,
      PG,
      DATABASE_URL: target.databaseUrl,
      SEARCH_PATH: target.schema,
      SQL: sql,
      DEADLINE_MS: String(deadlineMs),
    },
    encoding: "utf8",
    timeout: deadlineMs + 60_000,
  });
  if (child.status !== 0) {
    throw new Error(
      `the other process failed (${child.status ?? child.signal}): ${child.stderr.slice(-2000)}`,
    );
  }
  return JSON.parse(child.stdout) as Record<string, unknown>[];
}
