import type { Config } from "../../kit/config/config.js";
import { type Database, type DatabaseLogger, openDatabase } from "../../kit/db/index.js";
import { CHAT_MIGRATIONS } from "./migrations.js";

export const CHAT_SERVICE = "chat";

/**
 * The chat process's database: PGlite under `DATA_DIR/chat`, or schema `chat` on `DATABASE_URL`.
 * `schema` overrides the schema (tests use one per run).
 */
export function openChatDatabase(
  config: Pick<Config, "DATA_DIR" | "DATABASE_URL">,
  options: { logger?: DatabaseLogger; schema?: string | undefined } = {},
): Promise<Database> {
  return openDatabase({
    service: CHAT_SERVICE,
    dataDir: config.DATA_DIR,
    migrations: CHAT_MIGRATIONS,
    ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
    ...(options.schema ? { schema: options.schema } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
}
