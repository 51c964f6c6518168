import type { Config } from "../../kit/config/config.js";
import { type Database, type DatabaseLogger, openDatabase } from "../../kit/db/index.js";
import { MIGRATIONS } from "./migrations.js";

export const SERVICE_NAME = "mcp-server";

/**
 * The MCP server's database: PGlite under `DATA_DIR/mcp-server`, or schema `mcp_server` on
 * `DATABASE_URL`. `schema` overrides the schema (tests use one per run).
 */
export function openMcpDatabase(
  config: Pick<Config, "DATA_DIR" | "DATABASE_URL">,
  options: { logger?: DatabaseLogger; schema?: string } = {},
): Promise<Database> {
  return openDatabase({
    service: SERVICE_NAME,
    dataDir: config.DATA_DIR,
    migrations: MIGRATIONS,
    ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
    ...(options.schema ? { schema: options.schema } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
}
