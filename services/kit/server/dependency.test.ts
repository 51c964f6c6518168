import { describe, expect, it } from "vitest";
import { polledDependency } from "./dependency.js";

/** A polled dependency: asked at once, then every interval; a check that hangs counts as down. */
describe("polledDependency", () => {
  it("reports the first check before `follow` resolves, a hung check as not ready, and stops when told", async () => {
    const reports: boolean[] = [];
    let mode: "ok" | "hang" = "ok";
    let checks = 0;
    const dependency = polledDependency(
      "database",
      () => {
        checks += 1;
        return mode === "ok" ? Promise.resolve() : new Promise(() => undefined);
      },
      { intervalMs: 10, timeoutMs: 50 },
    );
    const stop = await dependency.follow((ready) => reports.push(ready));
    expect(reports).toEqual([true]);
    mode = "hang";
    const deadline = Date.now() + 20_000;
    while (!reports.includes(false)) {
      if (Date.now() > deadline) throw new Error("a hung check was never reported");
      await new Promise((r) => setTimeout(r, 10));
    }
    stop();
    const after = checks;
    await new Promise((r) => setTimeout(r, 200));
    // At most the one check that was already running when stopped.
    expect(checks - after).toBeLessThanOrEqual(1);
  });
});
