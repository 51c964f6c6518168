import { describe, expect, it } from "vitest";
import { checkedDependency } from "./dependency.js";
import type { HealthQuestions } from "./health.js";

/** Questions as the health registry asks them (`health.ts` `ask`): every listener, awaited. */
function questions() {
  const listeners = new Set<() => Promise<void>>();
  const asked: HealthQuestions = {
    onQuestion(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const ask = () => Promise.all([...listeners].map((l) => l()));
  return { asked, ask, listening: () => listeners.size };
}

/** A dependency checked once at start, then only when someone asks; a check that hangs counts as down. */
describe("checkedDependency", () => {
  it("reports the first check before `follow` resolves, then checks only when asked", async () => {
    const reports: boolean[] = [];
    let checks = 0;
    const { asked, ask } = questions();
    const dependency = checkedDependency(
      "database",
      () => {
        checks += 1;
      },
      { maxAgeMs: 0 },
    );
    const stop = await dependency.follow((ready) => reports.push(ready), asked);
    expect({ reports, checks }).toEqual({ reports: [true], checks: 1 });
    // Nobody asks: nothing is checked, however long the service idles.
    await new Promise((r) => setTimeout(r, 100));
    expect(checks).toBe(1);
    await ask();
    await ask();
    expect({ reports, checks }).toEqual({ reports: [true, true, true], checks: 3 });
    stop();
  });

  it("answers a burst of questions with one check: a recent answer is reused, and questions during a check wait for it", async () => {
    let checks = 0;
    let release: (() => void) | undefined;
    const { asked, ask } = questions();
    const dependency = checkedDependency(
      "database",
      () => {
        checks += 1;
        // The first check (at start) answers at once; the next one waits to be released.
        return checks === 1 ? undefined : new Promise<void>((r) => (release = r));
      },
      { maxAgeMs: 60_000 },
    );
    const reports: boolean[] = [];
    const stop = await dependency.follow((ready) => reports.push(ready), asked);
    await ask(); // within maxAgeMs of the start's check: no new check
    expect(checks).toBe(1);
    stop();

    // Every check waits for `gate`: three questions arrive while one check is running.
    let open: () => void = () => undefined;
    let gate = new Promise<void>((r) => (open = r));
    const fresh = checkedDependency(
      "database",
      () => {
        checks += 1;
        return gate;
      },
      { maxAgeMs: 0 },
    );
    checks = 0;
    const follow = fresh.follow((ready) => reports.push(ready), asked);
    open();
    const stopFresh = await follow;
    gate = new Promise<void>((r) => (open = r));
    let answered = 0;
    const three = [ask(), ask(), ask()].map((p) => p.then(() => (answered += 1)));
    await new Promise((r) => setTimeout(r, 50));
    expect(answered).toBe(0); // each question waits for the running check
    open();
    await Promise.all(three);
    expect(checks).toBe(2); // the start's, then one for the three questions
    expect(reports.slice(-2)).toEqual([true, true]);
    stopFresh();
  });

  it("reports a hung check as not ready, and stops listening when told", async () => {
    const reports: boolean[] = [];
    let mode: "ok" | "hang" = "ok";
    const { asked, ask, listening } = questions();
    const dependency = checkedDependency(
      "database",
      () => (mode === "ok" ? Promise.resolve() : new Promise(() => undefined)),
      { maxAgeMs: 0, timeoutMs: 50 },
    );
    const stop = await dependency.follow((ready) => reports.push(ready), asked);
    mode = "hang";
    await ask();
    expect(reports).toEqual([true, false]);
    stop();
    expect(listening()).toBe(0);
  });
});
