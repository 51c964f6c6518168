import { type RunningEmbeddedPostgres, startEmbeddedPostgres } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { logStartFailure } from "#kit/process/index.js";
import { type Backoff, createBackoff } from "./backoff.js";
import { CannotStartError, type SupervisedService } from "./supervisor.js";
import { logWhileWaiting } from "./waiting-progress.js";

export interface PostgresSupervisionOptions {
  readonly dataDir: string;
  readonly logger: Logger;
  /** How long the first start (initdb included) may take before the stack gives up. */
  readonly startTimeoutMs?: number;
  readonly backoff?: Backoff;
  /** How often "still waiting" is logged while the first start has not answered. */
  readonly progressEveryMs?: number;
}

/**
 * The stack's embedded PostgreSQL, started and kept running by the runner itself: the server is the
 * runner's own child (under `setpriv --pdeathsig`, so it goes with the runner however the runner
 * dies), with no Node process of its own in between (docs/architecture.md, "Data"; a supervising
 * process cost 105 MB of the stack's idle memory, docs/performance.md). Same contract and log lines
 * as a supervised service: ready once it accepts connections, restarted with backoff when it exits
 * unasked, never restarted when it cannot start (its one line says why and what fixes it).
 */
export function superviseEmbeddedPostgres(opts: PostgresSupervisionOptions): SupervisedService {
  return new EmbeddedPostgresSupervisor(opts);
}

const NAME = "postgres";

class EmbeddedPostgresSupervisor implements SupervisedService {
  readonly name = NAME;
  readonly ready: Promise<void>;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private server: RunningEmbeddedPostgres | undefined;
  /** The start under way (initdb, start-up, waiting for connections), if any. */
  private starting: Promise<void> | undefined;
  private startedAt = 0;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private everReady = false;
  private settleReady: { resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(private readonly opts: PostgresSupervisionOptions) {
    this.log = opts.logger.child({ process: NAME });
    this.backoff = opts.backoff ?? createBackoff();
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = { resolve, reject };
    });
    const timeoutMs = opts.startTimeoutMs ?? 180_000;
    const giveUp = setTimeout(() => {
      this.failFirstStart(new Error(`${NAME} did not start within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    const stopProgress = logWhileWaiting(this.log, opts.progressEveryMs);
    const settled = () => {
      clearTimeout(giveUp);
      stopProgress();
    };
    void this.ready.then(settled, settled);
    this.start();
  }

  pid(): number | undefined {
    return this.server?.pid;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    this.failFirstStart(new Error(`${NAME} stopped before it was ready`));
    // A start under way finishes first (initdb is never cut short), then the server stops.
    await this.starting;
    await this.server?.stop();
  }

  hurry(): void {
    // Its stop is already PostgreSQL's fast shutdown (SIGINT, then SIGQUIT after 30 s); a start
    // under way (initdb, start-up, both bounded by the start timeout) is never cut in half.
    void this.stop();
  }

  private start(): void {
    this.startedAt = Date.now();
    const restart = this.everReady;
    this.starting = startEmbeddedPostgres({
      dataDir: this.opts.dataDir,
      logger: this.log,
      ...(this.opts.startTimeoutMs === undefined ? {} : { timeoutMs: this.opts.startTimeoutMs }),
    }).then(
      (server) => {
        this.server = server;
        void server.exited.then(({ code, signal }) => this.exitedUnasked(server, code, signal));
        if (this.stopping) return;
        // The lines a service's start and readiness print, so one reader follows every process.
        // "started" comes with "ready": the server's pid is known once it accepts connections.
        this.log.info({ pid: server.pid }, "service started");
        if (restart) this.log.info({ pid: server.pid }, "service restarted");
        else {
          this.everReady = true;
          this.log.info({ pid: server.pid }, "service ready");
          this.settleReady?.resolve();
        }
      },
      (err: unknown) => this.startFailed(err),
    );
  }

  private startFailed(err: unknown): void {
    if (this.stopping) return;
    if (!this.everReady && logStartFailure(this.log, err, NAME)) {
      this.log.error({}, "service cannot start; not restarting it");
      this.failFirstStart(new CannotStartError(`${NAME} cannot start: see its line above`));
      return;
    }
    this.log.error({ err, ran_ms: Date.now() - this.startedAt }, "service crashed");
    this.scheduleRestart();
  }

  /** The server exited: restarted with backoff, unless the stack is stopping. */
  private exitedUnasked(
    server: RunningEmbeddedPostgres,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    if (this.stopping || server !== this.server) return;
    this.server = undefined;
    this.log.error({ pid: server.pid, code, signal, ran_ms: Date.now() - this.startedAt }, "service crashed");
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    const delayMs = this.backoff.next(Date.now() - this.startedAt);
    this.log.warn({ delay_ms: delayMs }, "restarting service");
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.stopping) this.start();
    }, delayMs);
  }

  private failFirstStart(err: Error): void {
    if (this.everReady || !this.settleReady) return;
    const { reject } = this.settleReady;
    this.settleReady = undefined;
    reject(err);
  }
}
