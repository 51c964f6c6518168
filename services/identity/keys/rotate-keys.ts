import { loadConfig } from "#kit/config/index.js";
import { DataDirLockedError } from "#kit/db/index.js";
import { createLogger } from "#kit/log/index.js";
import { CannotStartError } from "#kit/process/index.js";
import { openIdentityDatabase } from "../data/open-identity-database.js";
import { withSigningKeySecret } from "./data-dir-secret.js";
import { KeyCommandError, parseKeyCommand, runKeyCommand } from "./key-commands.js";

/**
 * `npm run rotate-keys -- [--now | --list | --prune | --remove <kid>]`: manages the identity
 * provider's signing keys in the identity database (see docs/identity.md). On PostgreSQL it works while
 * chat runs (chat reloads its keys); on the embedded database chat must be stopped, because PGlite
 * serves one process only — the kit's data-dir lock (taken by `openDatabase`) makes the command
 * refuse otherwise.
 */
// The keys it adds are sealed with SIGNING_KEY_SECRET, which production may not leave at its default.
const config = loadConfig({ secrets: ["SIGNING_KEY_SECRET"] });
// Logs go to stderr: stdout is the command's answer, which scripts may parse.
const logger = createLogger({
  service: "rotate-keys",
  level: config.LOG_LEVEL === "info" ? "warn" : config.LOG_LEVEL,
  destination: process.stderr,
});

let exitCode = 0;
try {
  const parsed = parseKeyCommand(process.argv.slice(2));
  if ("help" in parsed) {
    process.stdout.write(`${parsed.help}\n`);
  } else {
    const db = await openIdentityDatabase(config, { logger, schema: parsed.schema });
    try {
      // Outside production, the data directory's own secret, as the identity service uses (data-dir-secret.ts).
      const settings = withSigningKeySecret(config);
      for (const line of await runKeyCommand(db, parsed.command, settings)) process.stdout.write(`${line}\n`);
    } finally {
      await db.close();
    }
  }
} catch (err) {
  process.stderr.write(`rotate-keys: ${err instanceof Error ? err.message : String(err)}\n`);
  if (err instanceof DataDirLockedError) {
    process.stderr.write(
      "rotate-keys: stop the identity service first, rotate, then start it again (see docs/identity.md)\n",
    );
  }
  // Refusals are explained by their message; anything else is a fault worth a stack in the log.
  if (
    !(err instanceof KeyCommandError || err instanceof DataDirLockedError || err instanceof CannotStartError)
  )
    logger.error({ err }, "rotate-keys failed");
  exitCode = 1;
}
process.exit(exitCode);
