import type { Config } from "#kit/config/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { openMcpDatabase } from "../data/open-database.js";
import { seedSampleTickets, wantsSampleTickets } from "../data/seed-sample-tickets.js";

/**
 * The server's database: the one given (tests keep a handle), or its own. On PGlite, opening takes
 * DATA_DIR/mcp-server.lock (one process per embedded database) until the database is closed;
 * `npm run audit` refuses while it is held.
 */
export async function openServerDatabase(
  config: Config,
  logger: Logger,
  given: { database?: Database; databaseSchema?: string },
): Promise<Database> {
  const database =
    given.database ??
    (await openMcpDatabase(config, {
      logger,
      ...(given.databaseSchema ? { schema: given.databaseSchema } : {}),
    }));
  if (wantsSampleTickets(config)) {
    // Development only: a fresh stack answers "show me open tickets" with something (docs/mcp-server.md,
    // "Sample tickets"). Sample data never stops the server from starting.
    await seedSampleTickets(database).then(
      (n) => n > 0 && logger.info({ tickets: n }, "sample tickets seeded (NODE_ENV=development)"),
      (err: unknown) => logger.warn({ err }, "sample tickets not seeded"),
    );
  }
  return database;
}
