/**
 * Calls `onGone` once when the process that started this one goes away. `npm start` runs the runner
 * under `sh -c`, and npm forwards a SIGTERM to that shell only, which dies without passing it on:
 * the runner would live on, reparented, keeping every service up as orphans on their ports. No
 * signal tells a process its parent died, so the parent pid is checked every `intervalMs`.
 */
export function onParentGone(onGone: () => void, intervalMs = 250): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, intervalMs);
  // Never what keeps the runner alive.
  timer.unref();
  return () => clearInterval(timer);
}
