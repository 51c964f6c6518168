import type { Config } from "../../kit/config/config.js";
import { type Database, type DatabaseLogger, openServiceDatabase } from "../../kit/db/index.js";
import { sealAuditChain } from "./audit-head.js";
import { MIGRATIONS } from "./migrations.js";

export const SERVICE_NAME = "mcp-server";

/**
 * The MCP server's database: PGlite under `DATA_DIR/mcp-server`, or schema `mcp_server` on
 * `DATABASE_URL`. Once migrated, audit rows that predate the hash chain are sealed into it (once,
 * see `sealAuditChain`), so every reader and writer finds a chained table.
 */
export async function openMcpDatabase(
  config: Pick<Config, "DATA_DIR" | "DATABASE_URL">,
  options: { logger?: DatabaseLogger; schema?: string } = {},
): Promise<Database> {
  const db = await openServiceDatabase(SERVICE_NAME, MIGRATIONS, config, options);
  try {
    await sealAuditChain(db);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return db;
}
