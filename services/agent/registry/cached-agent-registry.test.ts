import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { AgentRecord } from "./agent-record.js";
import type { AgentRegistry } from "./agent-registry.js";
import { cachedAgentRegistry } from "./cached-agent-registry.js";

/** A registry that counts its questions; its agents can change under it. */
function countingRegistry() {
  const agents = new Map<string, AgentRecord>([["a", { id: "a", name: "A" } as AgentRecord]]);
  const asked = { get: 0, list: 0 };
  const registry: AgentRegistry = {
    async get(id) {
      asked.get++;
      const agent = agents.get(id);
      if (!agent) throw new ConnectError(`agent "${id}" not found`, Code.NotFound);
      return agent;
    },
    async list() {
      asked.list++;
      return { agents: [...agents.values()], nextPageToken: "" };
    },
  };
  return { registry, agents, asked };
}

describe("cachedAgentRegistry", () => {
  it("answers repeated questions from one query within its lifetime, and asks again after it", async () => {
    let clock = 0;
    const { registry, agents, asked } = countingRegistry();
    const cached = cachedAgentRegistry(registry, 1_000, () => clock);
    await Promise.all([cached.get("a"), cached.get("a"), cached.list(100, "")]);
    await cached.get("a");
    await cached.list(100, "");
    expect(asked).toEqual({ get: 1, list: 1 });

    agents.set("b", { id: "b", name: "B" } as AgentRecord);
    expect((await cached.list(100, "")).agents.map((a) => a.id)).toEqual(["a"]); // still within 1 s
    clock = 1_000;
    expect((await cached.list(100, "")).agents.map((a) => a.id)).toEqual(["a", "b"]);
    expect(asked.list).toBe(2);
  });

  it("keeps no refusal: an agent added after a not_found is found at once", async () => {
    const { registry, agents, asked } = countingRegistry();
    const cached = cachedAgentRegistry(registry, 60_000, () => 0);
    await expect(cached.get("c")).rejects.toMatchObject({ code: Code.NotFound });
    agents.set("c", { id: "c", name: "C" } as AgentRecord);
    expect((await cached.get("c")).name).toBe("C");
    expect(asked.get).toBe(2);
  });

  it("keeps each page and each agent apart", async () => {
    const { registry, asked } = countingRegistry();
    const cached = cachedAgentRegistry(registry, 60_000, () => 0);
    await cached.list(10, "");
    await cached.list(20, "");
    await cached.list(10, "t");
    expect(asked.list).toBe(3);
  });
});
