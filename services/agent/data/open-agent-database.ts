import type { Config } from "#kit/config/index.js";
import type { Database, DatabaseLogger } from "#kit/db/index.js";
import { openServiceDatabase } from "#kit/service/index.js";
import { AGENT_MIGRATIONS } from "./migrations.js";

export const AGENT_SERVICE = "agent";

/** The agent service's database: PGlite under `DATA_DIR/agent`, or schema `agent` on `DATABASE_URL`. */
export function openAgentDatabase(
  config: Pick<Config, "DATA_DIR" | "DATABASE_URL">,
  options: { logger?: DatabaseLogger; schema?: string | undefined } = {},
): Promise<Database> {
  return openServiceDatabase(AGENT_SERVICE, AGENT_MIGRATIONS, config, options);
}
