import type { Database, Listening } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import type { SlidingWindow } from "../sliding-window.js";
import type { SharedEvent } from "./event.js";

export interface WindowOptions {
  readonly windowMs: number;
  readonly limit: number;
  readonly maxKeys?: number;
}

/** One window's events in memory; `local` is replaced wholesale when the table is read again. */
export interface WindowEntry {
  local: SlidingWindow;
  readonly options: WindowOptions;
}

/** What every operation of one replica's throttle sharing reads and updates. */
export interface SharingState {
  readonly db: Database;
  readonly logger: Logger;
  /** This replica's id in the events it announces: it has counted them already. */
  readonly origin: string;
  readonly windows: Map<string, WindowEntry>;
  /** This replica's schema (`current_schema()`), read at start. */
  schema: string | undefined;
  listening: Listening | undefined;
  stopped: boolean;
  retry: NodeJS.Timeout | undefined;
  pruner: NodeJS.Timeout | undefined;
}

/** How far back an event still counts in some window. */
export function longestWindowMs(state: SharingState): number {
  return Math.max(0, ...[...state.windows.values()].map((w) => w.options.windowMs));
}

/** Counts (or clears) an event in its window's memory; an event of a window this replica lacks is dropped. */
export function applyEvent(state: SharingState, event: SharedEvent): void {
  const target = state.windows.get(event.w);
  if (!target) return;
  if (event.at === undefined) target.local.clear(event.k);
  else target.local.record(event.k, event.at);
}
