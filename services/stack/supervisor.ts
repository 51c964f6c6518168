import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { EXIT_INVALID_CONFIG } from "../kit/config/index.js";
import type { Logger } from "../kit/log/index.js";
import { EXIT_CANNOT_START, STOP_ON_SIGNALS_READY } from "../kit/server/index.js";
import { type Backoff, createBackoff } from "./backoff.js";
import type { StackProcess } from "./services.js";
import { waitForPort } from "./wait-for-port.js";

/** One service of the stack kept running: restarted with backoff whenever it exits unasked. */
export interface SupervisedService {
  readonly name: string;
  /** The running process's pid (a restart changes it). */
  pid(): number | undefined;
  /**
   * Resolves once the first start answers on its port; rejects if it does not within
   * `startTimeoutMs`, or at once when the service exits saying no restart can help (its
   * configuration, its port, its data directory or its database: the line it printed says which).
   */
  readonly ready: Promise<void>;
  /** One SIGTERM (the service drains and exits), no more restarts; resolves once it has exited. */
  stop(): Promise<void>;
  /** Another SIGTERM: a service already draining exits at once (see `stopOnSignals`). */
  hurry(): void;
}

export interface SuperviseOptions {
  readonly env: NodeJS.ProcessEnv;
  /** Where the port is probed (loopback when the service listens on every address). */
  readonly host: string;
  /**
   * The port that answers once it is up; none for a process that serves no port of its own (the
   * embedded PostgreSQL, on a Unix socket), which is ready once it says it drains on SIGTERM.
   */
  readonly port?: number;
  readonly logger: Logger;
  readonly startTimeoutMs?: number;
  /** How often "still waiting" is logged while the first start has not answered. */
  readonly progressEveryMs?: number;
  readonly backoff?: Backoff;
}

/** The service exited before it was ever ready, for a reason a restart cannot fix. */
// Absolute: the runner may be started from any working directory.
// TypeScript beside the sources (`npm start`), JavaScript in a compiled build (`npm run build`).
const EXTENSION = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const EXIT_WITH_RUNNER = fileURLToPath(
  new URL(`../kit/server/exit-with-runner${EXTENSION}`, import.meta.url),
);

export class CannotStartError extends Error {
  override readonly name = "CannotStartError";
}

export function superviseService(
  svc: Pick<StackProcess, "name" | "entry">,
  opts: SuperviseOptions,
): SupervisedService {
  const backoff = opts.backoff ?? createBackoff();
  const log = opts.logger.child({ process: svc.name });
  let child: ChildProcess | undefined;
  let startedAt = 0;
  let stopping = false;
  let restartTimer: NodeJS.Timeout | undefined;
  let exited: Promise<void> = Promise.resolve();
  // Whether the running process has said it drains on SIGTERM (see stopOnSignals): only then is it
  // ready, and only then is a SIGTERM a graceful stop rather than a kill.
  let drainable = false;
  let drainableWaiters: (() => void)[] = [];
  const untilDrainable = () =>
    drainable ? Promise.resolve() : new Promise<void>((resolve) => drainableWaiters.push(resolve));

  let everReady = false;
  let cannotStart: CannotStartError | undefined;
  let onCannotStart: (err: CannotStartError) => void = () => undefined;
  const startRefused = new Promise<never>((_, reject) => {
    onCannotStart = reject;
  });
  startRefused.catch(() => undefined);

  const alive = (c: ChildProcess | undefined): c is ChildProcess =>
    c !== undefined && c.exitCode === null && c.signalCode === null;

  const start = (): void => {
    // exit-with-runner loads before the service's own modules: it leaves with the runner from
    // the first moment (docs/architecture.md, "Processes").
    // JavaScript (`npm start`'s compiled tree, or `npm run build`) runs as is; TypeScript sources
    // (the tests' runner) under tsx.
    const loader = svc.entry.endsWith(".ts") ? ["--import", "tsx"] : [];
    const current = spawn(process.execPath, [...loader, "--import", EXIT_WITH_RUNNER, svc.entry], {
      // The IPC channel lets the service notice the runner's death, however it died (see
      // stopOnSignals). Its own process group: a Ctrl-C reaches the runner only, which forwards
      // exactly one SIGTERM; a service seeing the terminal's SIGINT and the runner's SIGTERM took
      // them for an operator insisting and skipped the graceful drain.
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      detached: true,
      env: opts.env,
    });
    child = current;
    drainable = false;
    startedAt = Date.now();
    log.info({ pid: current.pid, port: opts.port }, "service started");
    current.on("message", (message) => {
      if (message !== STOP_ON_SIGNALS_READY || current !== child) return;
      drainable = true;
      const waiters = drainableWaiters;
      drainableWaiters = [];
      for (const wake of waiters) wake();
    });
    exited = new Promise((resolve) => current.once("exit", () => resolve()));
    current.once("exit", (code, signal) => {
      if (stopping) return;
      if (!everReady && (code === EXIT_CANNOT_START || code === EXIT_INVALID_CONFIG)) {
        // Its own line (above) says why; restarting would print it again forever.
        log.error({ pid: current.pid, code }, "service cannot start; not restarting it");
        cannotStart = new CannotStartError(`${svc.name} cannot start (exit ${code}): see its line above`);
        onCannotStart(cannotStart);
        return;
      }
      const ranMs = Date.now() - startedAt;
      const delayMs = backoff.next(ranMs);
      log.error({ pid: current.pid, code, signal, ran_ms: ranMs }, "service crashed");
      log.warn({ delay_ms: delayMs }, "restarting service");
      restartTimer = setTimeout(restart, delayMs);
    });
  };

  /** Until the process answers on its port (if it has one) and drains on SIGTERM. */
  const untilAnswering = (timeoutMs: number, gaveUp: () => boolean): Promise<void> =>
    opts.port === undefined
      ? drainableWithin(timeoutMs, gaveUp)
      : waitForPort(opts.host, opts.port, timeoutMs, gaveUp).then(untilDrainable);
  const drainableWithin = (timeoutMs: number, gaveUp: () => boolean): Promise<void> =>
    new Promise((resolve, reject) => {
      const deadline = Date.now() + timeoutMs;
      const check = setInterval(() => {
        if (gaveUp()) reject(new Error("gave up waiting for the process"));
        else if (Date.now() > deadline) reject(new Error(`not ready within ${timeoutMs} ms`));
        else return;
        clearInterval(check);
      }, 100);
      void untilDrainable().then(() => {
        clearInterval(check);
        resolve();
      });
    });

  const restart = (): void => {
    restartTimer = undefined;
    if (stopping) return;
    start();
    const pid = child?.pid;
    untilAnswering(opts.startTimeoutMs ?? 60_000, () => stopping || child?.pid !== pid).then(
      () => {
        if (!stopping && child?.pid === pid) log.info({ pid, port: opts.port }, "service restarted");
      },
      // A restart that crashes again is logged (and retried) by its exit handler.
      () => undefined,
    );
  };

  start();
  const waitingSince = Date.now();
  const progress = setInterval(
    () =>
      log.info(
        { port: opts.port, waited_s: Math.round((Date.now() - waitingSince) / 1000) },
        "still waiting for the service to answer",
      ),
    opts.progressEveryMs ?? 10_000,
  );
  const answered = untilAnswering(
    opts.startTimeoutMs ?? 180_000,
    () => stopping || cannotStart !== undefined,
  ).then(() => {
    everReady = true;
    if (!stopping) log.info({ pid: child?.pid, port: opts.port }, "service ready");
  });
  const ready = Promise.race([answered, startRefused]).finally(() => clearInterval(progress));

  return {
    name: svc.name,
    pid: () => child?.pid,
    ready,
    stop() {
      stopping = true;
      clearTimeout(restartTimer);
      const current = child;
      if (!alive(current)) return exited;
      if (drainable) current.kill("SIGTERM");
      else {
        // Still starting: a SIGTERM now would kill it mid-start (lock left behind). Stop it once it
        // can drain, or after 30 s whatever its state.
        const fallback = setTimeout(() => current.kill("SIGTERM"), 30_000);
        void untilDrainable().then(() => {
          clearTimeout(fallback);
          current.kill("SIGTERM");
        });
      }
      return exited;
    },
    hurry() {
      // A stop too: the runner stops stage by stage, so this service's own stop() may not have
      // come yet, and its exit must not be taken for a crash and restarted.
      stopping = true;
      clearTimeout(restartTimer);
      if (alive(child)) child.kill("SIGTERM");
    },
  };
}
