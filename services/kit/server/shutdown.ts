import type { Logger } from "../log/logger.js";
import { handOverRunnerWatch, STOP_ON_SIGNALS_READY } from "../process/runner-watch.js";
import { flushTracing } from "../telemetry/tracing.js";

/**
 * Runs `stop` once on SIGTERM or SIGINT, sends the spans still batched, then exits 0 (1 if
 * stopping failed). A second signal while stopping exits at once, for an operator who really
 * means it.
 */
export function stopOnSignals(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal while stopping: exiting now");
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, "stopping");
    // The spans still batched go out before the process does (bounded; none when not exporting).
    stop().then(
      () => flushTracing().then(() => process.exit(0)),
      (err: unknown) => {
        logger.error({ err }, "stop failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  // Started by the stack runner (an IPC channel): when the runner goes away, however it died,
  // stop too instead of living on as an orphan holding the port and the database lock.
  // The runner waits for its services, so a disconnect during the drain means it was killed: the
  // drain goes on (it is no operator's second request).
  if (process.send) {
    handOverRunnerWatch();
    process.on("disconnect", () => stopping || onSignal("SIGTERM"));
  }
  // Tell the runner this service has started and now drains on SIGTERM: its port opens earlier
  // (while it still waits for the revocation feed), and a SIGTERM before this point would kill it
  // without a drain, leaving its data-dir lock behind.
  if (process.send && process.connected) process.send(STOP_ON_SIGNALS_READY);
}
