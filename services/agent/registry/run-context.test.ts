import { describe, expect, it } from "vitest";
import type { ChatMessage } from "#kit/model/index.js";
import type { AgentRecord } from "./agent-record.js";
import type { AgentRegistry } from "./agent-registry.js";
import {
  readRunContext,
  runContextFor,
  runContextMessage,
  systemClock,
  withRunContext,
} from "./run-context.js";

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

  it("carries the current time and time zone from the clock it is given", async () => {
    const reader: AgentRecord = {
      id: "ticket-reader",
      name: "Ticket Reader",
      description: "",
      systemPrompt: "",
      model: "default",
      allowedTools: ["get_ticket"],
      limits: { maxToolCalls: 6, maxModelTurns: 4 },
      createdAt: new Date(0),
    };
    const registry = {
      list: async () => ({ agents: [reader], nextPageToken: "" }),
    } as unknown as AgentRegistry;
    const clock = { now: () => new Date("2026-03-18T23:30:00Z"), timeZone: () => "Europe/Berlin" };
    const message = await runContextFor(
      registry,
      reader,
      { roles: ["viewer"], scopes: ["tickets:read"] },
      clock,
    );
    expect(readRunContext([message])?.clock).toEqual({
      now: "2026-03-18T23:30:00.000Z",
      timeZone: "Europe/Berlin",
    });
  });
});

describe("systemClock", () => {
  it("names the zone TZ sets, and follows a change of TZ (the name is cached per value)", () => {
    const before = process.env.TZ;
    try {
      process.env.TZ = "Asia/Tokyo";
      expect(systemClock.timeZone()).toBe("Asia/Tokyo");
      expect(systemClock.timeZone()).toBe("Asia/Tokyo");
      process.env.TZ = "Europe/Berlin";
      expect(systemClock.timeZone()).toBe("Europe/Berlin");
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
  });
});
