import type { Config } from "#kit/config/index.js";
import type { Database, DatabaseLogger } from "#kit/db/index.js";
import { openServiceDatabase } from "#kit/service/index.js";
import { IDENTITY_MIGRATIONS } from "../migrations.js";

export const IDENTITY_SERVICE = "identity";

/** The identity provider's database: PGlite under `DATA_DIR/identity`, or schema `identity` on `DATABASE_URL`. */
export function openIdentityDatabase(
  config: Pick<Config, "DATA_DIR" | "DATABASE_URL">,
  options: { logger?: DatabaseLogger; schema?: string | undefined } = {},
): Promise<Database> {
  return openServiceDatabase(IDENTITY_SERVICE, IDENTITY_MIGRATIONS, config, options);
}
