import { describe, expect, it } from "vitest";
import { captureLogs } from "../testing/log-capture.js";
import { createFeedStatusMonitor } from "./feed-status-monitor.js";

/** Keeps the event loop busy (no timer can run) for `ms`. */
function blockFor(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy
  }
}

describe("the revocation feed's status monitor", () => {
  it("tells listeners a failure that time alone revealed before a late message makes it live again, without dropping that message's stream", () => {
    const capture = captureLogs("test");
    let silentCalls = 0;
    const monitor = createFeedStatusMonitor({
      logger: capture.logger,
      limits: { heartbeatMs: 10, stalenessLimitMs: 50 },
      onSilent: () => silentCalls++,
    });
    const heard: string[] = [];
    monitor.onStateChange((s) => heard.push(s.status));
    monitor.heard(Date.now());
    monitor.update();
    expect(heard).toEqual(["live"]);

    // Past the staleness limit with no timer run (a busy event loop), as a caller reads it.
    blockFor(80);
    expect(monitor.state().status).toBe("failed");
    // The feed is back: its first message arrives before the monitor's timer has run.
    monitor.heard(Date.now());
    monitor.update();
    expect(heard).toEqual(["live", "failed", "live"]);
    expect(silentCalls).toBe(0);
    const errors = capture
      .records()
      .filter((r) => r.level === "error")
      .map((r) => r.msg);
    expect(errors).toEqual([
      "revocation feed unavailable beyond its staleness limit: user tokens are refused until it is back",
    ]);
    monitor.close();
  });
});
