import type { Config } from "#kit/config/index.js";
import type { Database, DatabaseLogger } from "#kit/db/index.js";
import { openServiceDatabase } from "#kit/service/index.js";
import { CHAT_MIGRATIONS } from "./migrations.js";

export const CHAT_SERVICE = "chat";

/** The chat process's database: PGlite under `DATA_DIR/chat`, or schema `chat` on `DATABASE_URL`. */
export function openChatDatabase(
  config: Pick<Config, "DATA_DIR" | "DATABASE_URL">,
  options: { logger?: DatabaseLogger; schema?: string | undefined } = {},
): Promise<Database> {
  return openServiceDatabase(CHAT_SERVICE, CHAT_MIGRATIONS, config, options);
}
