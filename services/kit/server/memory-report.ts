import type { Logger } from "../log/logger.js";

/**
 * Logs the process's memory every `intervalSeconds` (0: never) as one `memory` line: RSS, heap used
 * and heap total. What `npm run soak` reads to show every service stays flat under steady load
 * (docs/performance.md); an operator can turn it on with MEMORY_REPORT_INTERVAL.
 */
export function reportMemory(logger: Logger, intervalSeconds: number): void {
  if (intervalSeconds <= 0) return;
  // With --expose-gc (the soak sets it) each sample is taken after a full collection: heap after GC,
  // what grows when state is retained, instead of wherever the sawtooth happens to be.
  const gc = (globalThis as { gc?: () => void }).gc;
  const timer = setInterval(() => {
    gc?.();
    const m = process.memoryUsage();
    logger.info(
      { memory: { rss_bytes: m.rss, heap_used_bytes: m.heapUsed, heap_total_bytes: m.heapTotal } },
      "memory",
    );
  }, intervalSeconds * 1000);
  timer.unref();
}
