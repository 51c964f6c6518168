import { createHash } from "node:crypto";
import { createSlidingWindow, type SlidingWindow } from "../sliding-window.js";
import { announceEvent } from "./announce.js";
import type { SharingState, WindowOptions } from "./state.js";

/**
 * A window answered from this replica's memory whose events and clears are also announced to the
 * others. Keys are hashed before they are counted, stored or sent.
 */
export function sharedWindow(state: SharingState, name: string, options: WindowOptions): SlidingWindow {
  const entry = { local: createSlidingWindow(options), options };
  state.windows.set(name, entry);
  const hashed = (key: string) => createHash("sha256").update(key).digest("base64url");
  return {
    blockedFor: (key, now) => entry.local.blockedFor(hashed(key), now),
    count: (key, now) => entry.local.count(hashed(key), now),
    oldestExpiresIn: (key, now) => entry.local.oldestExpiresIn(hashed(key), now),
    record(key, now) {
      const k = hashed(key);
      entry.local.record(k, now);
      announceEvent(state, { w: name, k, at: now, o: state.origin });
    },
    clear(key) {
      const k = hashed(key);
      entry.local.clear(k);
      announceEvent(state, { w: name, k, o: state.origin });
    },
  };
}
