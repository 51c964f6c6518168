import type { ChildProcess } from "node:child_process";
import { EXIT_INVALID_CONFIG } from "#kit/config/index.js";
import type { Logger } from "#kit/log/index.js";
import { EXIT_CANNOT_START, STOP_ON_SIGNALS_READY } from "#kit/process/index.js";
import { type Backoff, createBackoff } from "./backoff.js";
import { DrainReadiness } from "./drain-readiness.js";
import { spawnService } from "./service-spawn.js";
import type { StackProcess } from "./services.js";
import { waitForPort } from "./wait-for-port.js";
import { logWhileWaiting } from "./waiting-progress.js";

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
   * The port that answers once it is up; none for a process that serves no port of its own, which
   * is ready once it says it drains on SIGTERM.
   */
  readonly port?: number;
  readonly logger: Logger;
  readonly startTimeoutMs?: number;
  /** How often "still waiting" is logged while the first start has not answered. */
  readonly progressEveryMs?: number;
  readonly backoff?: Backoff;
}

/** The service exited before it was ever ready, for a reason a restart cannot fix. */
export class CannotStartError extends Error {
  override readonly name = "CannotStartError";
}

export function superviseService(
  svc: Pick<StackProcess, "name" | "entry">,
  opts: SuperviseOptions,
): SupervisedService {
  return new ServiceSupervisor(svc, opts);
}

class ServiceSupervisor implements SupervisedService {
  readonly name: string;
  readonly ready: Promise<void>;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private readonly drain = new DrainReadiness();
  private child: ChildProcess | undefined;
  private startedAt = 0;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private exited: Promise<void> = Promise.resolve();
  private everReady = false;
  private cannotStart: CannotStartError | undefined;
  private onCannotStart: (err: CannotStartError) => void = () => undefined;

  constructor(
    private readonly svc: Pick<StackProcess, "name" | "entry">,
    private readonly opts: SuperviseOptions,
  ) {
    this.name = svc.name;
    this.backoff = opts.backoff ?? createBackoff();
    this.log = opts.logger.child({ process: svc.name });
    const startRefused = new Promise<never>((_, reject) => {
      this.onCannotStart = reject;
    });
    startRefused.catch(() => undefined);
    this.start();
    this.ready = this.firstStart(startRefused);
  }

  pid(): number | undefined {
    return this.child?.pid;
  }

  stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const current = this.child;
    if (!alive(current)) return this.exited;
    if (this.drain.isDrainable) current.kill("SIGTERM");
    else {
      // Still starting: a SIGTERM now would kill it mid-start (lock left behind). Stop it once it
      // can drain, or after 30 s whatever its state.
      const fallback = setTimeout(() => current.kill("SIGTERM"), 30_000);
      void this.drain.until().then(() => {
        clearTimeout(fallback);
        current.kill("SIGTERM");
      });
    }
    return this.exited;
  }

  hurry(): void {
    // A stop too: the runner stops stage by stage, so this service's own stop() may not have
    // come yet, and its exit must not be taken for a crash and restarted.
    this.stopping = true;
    clearTimeout(this.restartTimer);
    if (alive(this.child)) this.child.kill("SIGTERM");
  }

  /** Ready once the first process answers, logging progress meanwhile; refused when it cannot start. */
  private firstStart(startRefused: Promise<never>): Promise<void> {
    const stopProgress = logWhileWaiting(this.log, this.opts.progressEveryMs, { port: this.opts.port });
    const answered = this.untilAnswering(
      this.opts.startTimeoutMs ?? 180_000,
      () => this.stopping || this.cannotStart !== undefined,
    ).then(() => {
      this.everReady = true;
      if (!this.stopping) this.log.info({ pid: this.child?.pid, port: this.opts.port }, "service ready");
    });
    return Promise.race([answered, startRefused]).finally(stopProgress);
  }

  private start(): void {
    const current = spawnService(this.svc.entry, this.opts.env);
    this.child = current;
    this.drain.reset();
    this.startedAt = Date.now();
    this.log.info({ pid: current.pid, port: this.opts.port }, "service started");
    current.on("message", (message) => {
      if (message === STOP_ON_SIGNALS_READY && current === this.child) this.drain.declare();
    });
    this.exited = new Promise((resolve) => current.once("exit", () => resolve()));
    current.once("exit", (code, signal) => this.exitedUnasked(current, code, signal));
  }

  /** The process exited: restarted with backoff, unless stopping or it can never start. */
  private exitedUnasked(current: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping) return;
    if (!this.everReady && (code === EXIT_CANNOT_START || code === EXIT_INVALID_CONFIG)) {
      // Its own line (above) says why; restarting would print it again forever.
      this.log.error({ pid: current.pid, code }, "service cannot start; not restarting it");
      this.cannotStart = new CannotStartError(
        `${this.svc.name} cannot start (exit ${code}): see its line above`,
      );
      this.onCannotStart(this.cannotStart);
      return;
    }
    const ranMs = Date.now() - this.startedAt;
    const delayMs = this.backoff.next(ranMs);
    this.log.error({ pid: current.pid, code, signal, ran_ms: ranMs }, "service crashed");
    this.log.warn({ delay_ms: delayMs }, "restarting service");
    this.restartTimer = setTimeout(() => this.restart(), delayMs);
  }

  private restart(): void {
    this.restartTimer = undefined;
    if (this.stopping) return;
    this.start();
    const pid = this.child?.pid;
    this.untilAnswering(
      this.opts.startTimeoutMs ?? 60_000,
      () => this.stopping || this.child?.pid !== pid,
    ).then(
      () => {
        if (!this.stopping && this.child?.pid === pid) {
          this.log.info({ pid, port: this.opts.port }, "service restarted");
        }
      },
      // A restart that crashes again is logged (and retried) by its exit handler.
      () => undefined,
    );
  }

  /** Until the process answers on its port (if it has one) and drains on SIGTERM. */
  private untilAnswering(timeoutMs: number, gaveUp: () => boolean): Promise<void> {
    const { host, port } = this.opts;
    return port === undefined
      ? this.drain.within(timeoutMs, gaveUp)
      : waitForPort(host, port, timeoutMs, gaveUp).then(() => this.drain.until());
  }
}

function alive(c: ChildProcess | undefined): c is ChildProcess {
  return c !== undefined && c.exitCode === null && c.signalCode === null;
}
