import type { Logger } from "#kit/log/index.js";

/**
 * Logs "still waiting for the service to answer" every `everyMs` (10 s by default) while a process's
 * first start has not answered, with how long it has waited and `fields`; the returned function
 * stops it. One line for every process of the stack (docs/architecture.md, "Processes").
 */
export function logWhileWaiting(log: Logger, everyMs = 10_000, fields: object = {}): () => void {
  const waitingSince = Date.now();
  const timer = setInterval(
    () =>
      log.info(
        { ...fields, waited_s: Math.round((Date.now() - waitingSince) / 1000) },
        "still waiting for the service to answer",
      ),
    everyMs,
  );
  return () => clearInterval(timer);
}
