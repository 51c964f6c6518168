import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { agentLost } from "./turn.js";

/** Which failures of the agent's stream make chat send the turn again (docs/chat.md, "A turn that survives a crash"). */
describe("agent lost mid-turn", () => {
  it("is a dropped connection, and a stream a balancer ended cleanly after the agent died", () => {
    expect(agentLost(new ConnectError("read ECONNRESET", Code.Unavailable))).toBe(true);
    expect(
      agentLost(new ConnectError("protocol error: missing EndStreamResponse", Code.InvalidArgument)),
    ).toBe(true);
  });

  it("is never what the agent itself answered", () => {
    expect(agentLost(new ConnectError("arguments_json: not an object", Code.InvalidArgument))).toBe(false);
    expect(
      agentLost(
        new ConnectError("the tool said: protocol error: missing EndStreamResponse", Code.InvalidArgument),
      ),
    ).toBe(false);
    expect(agentLost(new ConnectError("read ECONNRESET", Code.PermissionDenied))).toBe(false);
  });
});
