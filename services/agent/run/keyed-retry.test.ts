import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { RunRequestSchema } from "#gen/supportext/agent/v1/agent_pb.js";
import { UNCONFIRMED, withKeyedRetry } from "./keyed-retry.js";
import { keyFor } from "./tool-gateway.js";
import { turnIdOf } from "./turn-id.js";

const refused = () => new ConnectError("connect ECONNREFUSED 127.0.0.1:1", Code.Unavailable);
const reset = () => new ConnectError("read ECONNRESET", Code.Unavailable);

/** A call answering each attempt from `plan` in turn (an Error is thrown). */
function scripted<T>(plan: (T | Error)[]) {
  let calls = 0;
  const call = async () => {
    const next = plan[Math.min(calls++, plan.length - 1)];
    if (next instanceof Error) throw next;
    return next as T;
  };
  return { call, calls: () => calls };
}

const options = (keyed: boolean) => ({ keyed, signal: new AbortController().signal, recoveryMs: 10_000 });

describe("withKeyedRetry", () => {
  it("sends a keyed call once more after a lost connection and returns what the repeat answers", async () => {
    const s = scripted<string>([reset(), "created #7"]);
    expect(await withKeyedRetry(s.call, options(true))).toBe("created #7");
    expect(s.calls()).toBe(2);
  });

  it("waits through refused connections of a restarting gateway, then gets the answer", async () => {
    const s = scripted<string>([reset(), refused(), refused(), "created #8"]);
    expect(await withKeyedRetry(s.call, options(true))).toBe("created #8");
    expect(s.calls()).toBe(4);
  });

  it("keeps asking through resets on connections the killed gateway left behind (ECONNRESET → aborted)", async () => {
    const staleReset = () => new ConnectError("read ECONNRESET", Code.Aborted);
    const s = scripted<string>([reset(), staleReset(), staleReset(), refused(), "created #9"]);
    expect(await withKeyedRetry(s.call, options(true))).toBe("created #9");
    expect(s.calls()).toBe(5);
  });

  it("never retries without a key, nor a call refused before it was sent, nor a tool's own refusal", async () => {
    const unkeyed = scripted<string>([reset(), "no"]);
    await expect(withKeyedRetry(unkeyed.call, options(false))).rejects.toThrow("ECONNRESET");
    expect(unkeyed.calls()).toBe(1);
    const down = scripted<string>([refused(), "no"]);
    await expect(withKeyedRetry(down.call, options(true))).rejects.toThrow("ECONNREFUSED");
    expect(down.calls()).toBe(1);
    const denied = scripted<string>([new ConnectError("agent_not_allowed", Code.PermissionDenied), "no"]);
    await expect(withKeyedRetry(denied.call, options(true))).rejects.toThrow("agent_not_allowed");
    expect(denied.calls()).toBe(1);
  });

  it("when the repeats keep failing past the recovery window, says the outcome is unconfirmed rather than failed", async () => {
    const s = scripted<string>([reset(), new ConnectError("stream closed", Code.Internal)]);
    const err = await withKeyedRetry(s.call, { ...options(true), recoveryMs: 500 }).catch((e: unknown) =>
      ConnectError.from(e),
    );
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).rawMessage).toBe(UNCONFIRMED);
    expect(s.calls()).toBeGreaterThanOrEqual(3);
  });
});

describe("idempotency keys of a turn", () => {
  const req = (input: string, history = 0) =>
    create(RunRequestSchema, {
      agentId: "support-assistant",
      threadId: "t1",
      input,
      history: Array.from({ length: history }, () => ({ content: "earlier" })),
    });

  it("a repeated turn (same request id and input, grown history) has the same keys; another turn has others", () => {
    const first = turnIdOf("req-1", req("create a ticket: printer jammed"));
    expect(turnIdOf("req-1", req("create a ticket: printer jammed", 2))).toBe(first);
    expect(turnIdOf("req-1", req("create a ticket: monitor flickers"))).not.toBe(first);
    expect(turnIdOf("req-2", req("create a ticket: printer jammed"))).not.toBe(first);
    expect(turnIdOf(undefined, req("x"))).toBeUndefined();
    expect(keyFor(first as string, "call_0")).toBe(`${first}:call_0`);
    expect(keyFor("t".repeat(200), "call_0")).toMatch(/^[0-9a-f]{64}$/);
  });
});
