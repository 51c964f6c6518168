import type { Config } from "#kit/config/index.js";
import type { Database, DatabaseLogger } from "#kit/db/index.js";
import { openServiceDatabase } from "#kit/service/index.js";
import { MIGRATIONS } from "./migrations.js";

export const SERVICE_NAME = "mcp-server";

/**
 * The MCP server's database: PGlite under `DATA_DIR/mcp-server`, or schema `mcp_server` on
 * `DATABASE_URL`, migrated. Opening never touches the audit chain: nothing is sealed or repaired
 * here (docs/mcp-server.md, "Witnessed checkpoints").
 */
export function openMcpDatabase(
  config: Pick<Config, "DATA_DIR" | "DATABASE_URL">,
  options: { logger?: DatabaseLogger; schema?: string; readOnly?: boolean } = {},
): Promise<Database> {
  return openServiceDatabase(SERVICE_NAME, MIGRATIONS, config, options);
}
