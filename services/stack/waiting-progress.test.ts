import { describe, expect, it } from "vitest";
import { captureLogs } from "#kit/testing/log-capture.js";
import { logWhileWaiting } from "./waiting-progress.js";

describe("logWhileWaiting", () => {
  it("says which process it waits for, with its fields and the seconds waited, until stopped", async () => {
    const capture = captureLogs("stack");
    const stop = logWhileWaiting(capture.logger.child({ process: "chat" }), 40, { port: 8081 });
    await new Promise((r) => setTimeout(r, 150));
    stop();
    const lines = capture.records().filter((r) => r.msg === "still waiting for the service to answer");
    expect(lines.length).toBeGreaterThanOrEqual(1);
    for (const line of lines) {
      expect(line).toMatchObject({ process: "chat", port: 8081, waited_s: expect.any(Number) });
    }
    const count = capture.lines.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(capture.lines).toHaveLength(count);
  });
});
