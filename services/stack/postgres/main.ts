import { loadConfig } from "#kit/config/index.js";
import { startEmbeddedPostgres } from "#kit/db/index.js";
import { createLogger } from "#kit/log/index.js";
import { startOrExit, stopOnSignals } from "#kit/server/index.js";

/**
 * The stack's embedded PostgreSQL (docs/architecture.md, "Data"), started by `npm start` before
 * every service when DATABASE_URL is unset: the server of `DATA_DIR/postgres`, on a Unix socket
 * only. Run as a process of its own like the services, so the runner supervises, restarts and
 * stops it the same way — last, once every service has closed its connections.
 */
const config = loadConfig();
const logger = createLogger({ service: "postgres", level: config.LOG_LEVEL });
const server = await startOrExit("postgres", logger, () =>
  startEmbeddedPostgres({ dataDir: config.DATA_DIR, logger, timeoutMs: config.STACK_START_TIMEOUT * 1000 }),
);
let stopping = false;
stopOnSignals(logger, async () => {
  stopping = true;
  await server.stop();
  logger.info({}, "embedded PostgreSQL stopped");
});
void server.exited.then(({ code, signal }) => {
  if (stopping) return;
  // Killed or crashed under us: exit too, so the runner restarts both (a fresh server recovers from its WAL).
  logger.error({ code, signal }, "embedded PostgreSQL exited");
  process.exit(1);
});
