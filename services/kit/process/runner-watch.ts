/** The IPC message a service sends its runner once `stopOnSignals` is in place: it drains on SIGTERM now. */
export const STOP_ON_SIGNALS_READY = "stop-on-signals-ready";

/**
 * A service's watch on the stack runner that started it (docs/architecture.md, "Processes"): the
 * runner's IPC channel closing is the one notice even a SIGKILLed parent leaves. From the first
 * moment of start-up the service simply exits on it (`exit-with-runner.ts`, preloaded); once it
 * drains on signals, `stopOnSignals` takes the notice over and drains instead.
 */
const WATCH = Symbol.for("support-ext.runner-watch");

type Holder = { [WATCH]?: () => void };

/** Exits at once when the runner goes away (or is already gone). No-op without a runner. */
export function exitWithRunner(): void {
  if (!process.send) return;
  // Started by a runner that is already gone (it died while this process was being created).
  if (!process.connected) process.exit(1);
  const leave = () => process.exit(1);
  (globalThis as Holder)[WATCH] = leave;
  process.on("disconnect", leave);
}

/** Stops exiting on the runner's departure: the caller drains on it instead. */
export function handOverRunnerWatch(): void {
  const leave = (globalThis as Holder)[WATCH];
  if (leave) process.off("disconnect", leave);
}
