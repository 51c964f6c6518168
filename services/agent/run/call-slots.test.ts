import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { callSlots } from "./call-slots.js";

/** A unary "call" through the interceptor: `next` holds it open until `finish` is called. */
function harness(slots: number) {
  const interceptor = callSlots(slots);
  let running = 0;
  let most = 0;
  const open: Array<() => void> = [];
  const next = () =>
    new Promise((resolve) => {
      running++;
      most = Math.max(most, running);
      open.push(() => {
        running--;
        resolve({ stream: false, message: {} });
      });
    });
  const call = (signal = new AbortController().signal) =>
    (interceptor(next as never) as (req: unknown) => Promise<unknown>)({ stream: false, signal });
  return {
    call,
    finishOne: () => open.shift()?.(),
    get most() {
      return most;
    },
    get running() {
      return running;
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("callSlots", () => {
  it("lets at most `slots` calls run at once; the others wait their turn and then run", async () => {
    const h = harness(2);
    const calls = Array.from({ length: 5 }, () => h.call());
    await tick();
    expect(h.running).toBe(2);
    for (let i = 0; i < 5; i++) {
      h.finishOne();
      await tick();
    }
    await Promise.all(calls);
    expect(h.most).toBe(2);
  });

  it("a waiting call whose deadline passes gives up with its own reason and takes no slot", async () => {
    const h = harness(1);
    const first = h.call();
    const controller = new AbortController();
    const waiting = h.call(controller.signal);
    const third = h.call();
    await tick();
    controller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    await expect(waiting).rejects.toMatchObject({ code: Code.DeadlineExceeded });
    h.finishOne();
    await first;
    await tick();
    expect(h.running).toBe(1); // the third, not the one that gave up
    h.finishOne();
    await third;
  });
});
