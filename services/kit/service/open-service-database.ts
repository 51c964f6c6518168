import type { Config } from "../config/config.js";
import { openDatabase } from "../db/open-database.js";
import type { Database, DatabaseLogger, Migration } from "../db/types.js";

/**
 * A service's own database from the product configuration: PGlite under `DATA_DIR/<service>`,
 * or the service's schema on `DATABASE_URL`. `schema` overrides the schema (tests use one per run);
 * `readOnly` opens an existing database without migrating it (see `openDatabase`).
 */
export function openServiceDatabase(
  service: string,
  migrations: readonly Migration[],
  config: Pick<Config, "DATA_DIR" | "DATABASE_URL"> & Partial<Pick<Config, "STACK_DATABASE">>,
  options: { logger?: DatabaseLogger | undefined; schema?: string | undefined; readOnly?: boolean } = {},
): Promise<Database> {
  return openDatabase({
    service,
    dataDir: config.DATA_DIR,
    migrations,
    ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
    ...(options.schema ? { schema: options.schema } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.readOnly ? { readOnly: true } : {}),
    ...(config.STACK_DATABASE === "pglite" ? { embeddedPostgres: false } : {}),
  });
}
