import { describe, expect, it } from "vitest";
import type { ChatMessage } from "../../kit/model/types.js";
import { readRunContext, runContextMessage, withRunContext } from "./run-context.js";

describe("run context", () => {
  const context = {
    agent: { id: "ticket-reader", name: "Ticket Reader", tools: ["get_ticket"] },
    caller: { roles: ["viewer"], scopes: ["tickets:read"] },
    agents: [{ id: "ticket-reader", name: "Ticket Reader", tools: ["get_ticket"] }],
  };

  it("goes right after the agent's system prompt and reads back", () => {
    const turn: ChatMessage[] = [
      { role: "system", content: "You are read-only." },
      { role: "user", content: "hi" },
    ];
    const messages = withRunContext(turn, runContextMessage(context));
    expect(messages.map((m) => m.role)).toEqual(["system", "system", "user"]);
    expect(messages[0]?.content).toBe("You are read-only.");
    expect(readRunContext(messages)).toEqual(context);
  });

  it("is first when the agent has no prompt, and absent from conversations without one", () => {
    const messages = withRunContext([{ role: "user", content: "hi" }], runContextMessage(context));
    expect(messages[0]?.role).toBe("system");
    expect(readRunContext([{ role: "system", content: "Run context: not json" }])).toBeUndefined();
  });
});
