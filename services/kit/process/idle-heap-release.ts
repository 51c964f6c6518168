import { performance } from "node:perf_hooks";
import v8 from "node:v8";
import vm from "node:vm";
import type { Logger } from "../log/logger.js";

/**
 * Gives back to the system the heap a service grew under load once it has gone quiet
 * (docs/performance.md, "Idle memory").
 *
 * V8 grows the young generation up to 2 × `--max-semi-space-size` (16–64 MB a semi-space on
 * Node 24, by the machine's memory) while a process allocates fast, and Node never tells V8 that
 * the process is idle, so a service keeps 32–128 MB of empty young generation resident for as long
 * as it lives. Capping the semi-space instead costs every request more scavenges (measured:
 * 5–10 % more CPU per chat turn). Here the cap stays where V8 puts it, and when the event loop has
 * been all but idle for `quietWindows` windows in a row and the heap has grown since the last
 * release, one "last resort" collection — the one V8 runs under memory pressure: it shrinks the
 * young generation and releases free pages — returns the memory. Once per quiet period; a busy
 * process never pays it.
 */
export interface IdleHeapReleaseOptions {
  /** How long one observation window lasts; 0 turns the release off. */
  readonly windowMs: number;
  /** Windows in a row the event loop must be quiet (busy less than `quietUtilization`). */
  readonly quietWindows?: number;
  /** Event-loop utilization below which a window counts as quiet (0.01: busy 1 % of the time). */
  readonly quietUtilization?: number;
  /** Growth of the heap since the last release worth a collection. */
  readonly minGrowthBytes?: number;
  /**
   * How busy the event loop was since the last observation, 0–1; the process's own event-loop
   * utilization unless given (the spec scripts it: a test worker's loop is never only its own).
   */
  readonly busySinceLast?: () => number;
}

export interface IdleHeapRelease {
  /** Runs one observation now (what the timer does every window); true when it released. */
  observe(): boolean;
  stop(): void;
}

type FullCollection = (options: { type: "major"; execution: "sync"; flavor: "last-resort" }) => void;

/**
 * V8's collector with its options (its `gc` extension), without exposing `gc` to the service's own
 * global. The flag stays set for the process, so contexts made later by `vm` see a `gc` too; no
 * service runs foreign code in `vm`. On Node 20 V8 ignores `flavor` and this is an ordinary full
 * collection (the young generation is not shrunk); the product runs on Node 24 (docs/development.md).
 */
function lastResortCollection(): FullCollection {
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as FullCollection;
}

const heapBytes = () => v8.getHeapStatistics().total_heap_size;

/** The event loop's utilization since the previous call (the first: since the process started). */
function eventLoopBusy(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    return busy;
  };
}

export function releaseHeapWhenIdle(logger: Logger, options: IdleHeapReleaseOptions): IdleHeapRelease {
  const quietWindows = options.quietWindows ?? 2;
  const quietUtilization = options.quietUtilization ?? 0.01;
  const minGrowthBytes = options.minGrowthBytes ?? 4 * 1024 * 1024;
  const collect = options.windowMs > 0 ? lastResortCollection() : undefined;
  const busySinceLast = options.busySinceLast ?? eventLoopBusy();
  let quietInARow = 0;
  /** Released since the event loop was last busy: a quiet period gets one collection, not one per window. */
  let releasedWhileQuiet = false;
  let heapAfterRelease = 0;

  const observe = (): boolean => {
    if (busySinceLast() < quietUtilization) quietInARow++;
    else {
      quietInARow = 0;
      releasedWhileQuiet = false;
    }
    const before = heapBytes();
    if (!collect || releasedWhileQuiet || quietInARow < quietWindows) return false;
    if (before - heapAfterRelease < minGrowthBytes) return false;
    const started = performance.now();
    collect({ type: "major", execution: "sync", flavor: "last-resort" });
    releasedWhileQuiet = true;
    heapAfterRelease = heapBytes();
    // The collection's own time must not count as activity in the next window.
    busySinceLast();
    logger.debug(
      {
        heap_before_bytes: before,
        heap_after_bytes: heapAfterRelease,
        rss_bytes: process.memoryUsage.rss(),
        gc_ms: Math.round(performance.now() - started),
      },
      "idle: heap released",
    );
    return true;
  };

  const timer = options.windowMs > 0 ? setInterval(observe, options.windowMs) : undefined;
  timer?.unref();
  return { observe, stop: () => clearInterval(timer) };
}
