import { describe, expect, it } from "vitest";
import { untilAborted } from "./until-aborted.js";

describe("untilAborted", () => {
  it("answers with the shared work when the signal never aborts", async () => {
    await expect(untilAborted(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7);
    await expect(untilAborted(Promise.reject(new Error("down")), undefined)).rejects.toThrow("down");
  });

  it("stops this caller at its abort, with its reason, while the shared work goes on for others", async () => {
    let finish: (value: string) => void = () => undefined;
    const shared = new Promise<string>((resolve) => {
      finish = resolve;
    });
    const mine = new AbortController();
    const first = untilAborted(shared, mine.signal);
    const other = untilAborted(shared, new AbortController().signal);
    mine.abort(new Error("deadline"));
    await expect(first).rejects.toThrow("deadline");
    finish("token");
    await expect(other).resolves.toBe("token");
  });

  it("fails at once for a signal already aborted", async () => {
    const gone = AbortSignal.abort(new Error("cancelled"));
    await expect(untilAborted(new Promise(() => undefined), gone)).rejects.toThrow("cancelled");
  });
});
