import { describe, expect, it } from "vitest";
import type { Principal } from "#kit/auth/index.js";
import type { ToolDefinition } from "#kit/model/index.js";
import { createToolLists } from "./tool-lists.js";

const principal = (over: Partial<Principal> = {}): Principal =>
  ({
    userId: "u-alice",
    email: "alice@company.com",
    roles: ["agent"],
    scopes: ["tickets:read", "tickets:write"],
    sessionId: "login-1",
    tokenId: "jti-1",
    expiresAt: 0,
    ...over,
  }) as Principal;

const list = (name: string): ToolDefinition[] => [{ name, description: name, parameters: {} }];

describe("the tool lists the agent reuses", () => {
  it("reuses a caller's list for the time the gateway gave, then asks again", () => {
    let now = 1_000;
    const lists = createToolLists(() => now);
    const alice = principal();
    const tools = list("get_ticket");
    lists.keep(alice, "support-assistant", tools, 500);
    expect(lists.get(alice, "support-assistant")).toBe(tools);
    // A refreshed token of the same login session: the same list.
    expect(lists.get(principal({ tokenId: "jti-2" }), "support-assistant")).toBe(tools);
    now += 499;
    expect(lists.get(alice, "support-assistant")).toBe(tools);
    now += 1;
    expect(lists.get(alice, "support-assistant")).toBeUndefined();
    expect(lists.size).toBe(0);
  });

  it("never offers one caller's list to another login session, user, agent or set of scopes", () => {
    const lists = createToolLists(() => 0);
    lists.keep(principal(), "support-assistant", list("delete_ticket"), 60_000);
    expect(lists.get(principal({ sessionId: "login-2" }), "support-assistant")).toBeUndefined();
    expect(lists.get(principal({ userId: "u-bob" }), "support-assistant")).toBeUndefined();
    expect(lists.get(principal(), "ticket-reader")).toBeUndefined();
    expect(lists.get(principal({ scopes: ["tickets:read"] }), "support-assistant")).toBeUndefined();
    // The same scopes in another order are the same scopes.
    const reordered = principal({ scopes: ["tickets:write", "tickets:read"] });
    expect(lists.get(reordered, "support-assistant")?.[0]?.name).toBe("delete_ticket");
    // Fields that cannot collide by concatenation: ("a|b", "c") is not ("a", "b|c").
    lists.keep(principal({ sessionId: "a|b", userId: "c" }), "x", list("one"), 60_000);
    expect(lists.get(principal({ sessionId: "a", userId: "b|c" }), "x")).toBeUndefined();
  });

  it("holds nothing the gateway says not to reuse (ttl 0), and forgets a list on drop", () => {
    const lists = createToolLists(() => 0);
    lists.keep(principal(), "support-assistant", list("get_ticket"), 0);
    expect(lists.get(principal(), "support-assistant")).toBeUndefined();
    lists.keep(principal(), "support-assistant", list("get_ticket"), 60_000);
    lists.drop(principal(), "support-assistant");
    expect(lists.get(principal(), "support-assistant")).toBeUndefined();
  });

  it("lets lists past their time go within a minute of the next list kept or asked for", () => {
    let now = 0;
    const lists = createToolLists(() => now);
    for (let i = 0; i < 100; i++) lists.keep(principal({ userId: `u-${i}` }), "a", list("t"), 1_000);
    expect(lists.size).toBe(100);
    now = 60_000;
    expect(lists.get(principal({ userId: "u-late" }), "a")).toBeUndefined();
    expect(lists.size).toBe(0);
  });

  it("is bounded: expired lists go first, then the ones held longest", () => {
    let now = 0;
    const lists = createToolLists(() => now, 3);
    lists.keep(principal({ userId: "u-1" }), "a", list("t"), 10_000);
    lists.keep(principal({ userId: "u-2" }), "a", list("t"), 10);
    lists.keep(principal({ userId: "u-3" }), "a", list("t"), 10_000);
    now = 1_500; // u-2's has expired; u-1 is the oldest
    lists.keep(principal({ userId: "u-4" }), "a", list("t"), 10_000);
    expect(lists.size).toBe(3);
    expect(lists.get(principal({ userId: "u-1" }), "a")).toBeDefined();
    now = 1_600; // none expired: u-1 (held longest) goes
    lists.keep(principal({ userId: "u-5" }), "a", list("t"), 10_000);
    expect(lists.size).toBe(3);
    expect(lists.get(principal({ userId: "u-1" }), "a")).toBeUndefined();
    expect(lists.get(principal({ userId: "u-3" }), "a")).toBeDefined();
    expect(lists.get(principal({ userId: "u-5" }), "a")).toBeDefined();
  });

  it("holds a list five minutes at most, whatever time the gateway gave", () => {
    let now = 0;
    const lists = createToolLists(() => now);
    lists.keep(principal(), "a", list("t"), 0xffff_ffff);
    now = 5 * 60_000 - 1;
    expect(lists.get(principal(), "a")).toBeDefined();
    now += 1;
    expect(lists.get(principal(), "a")).toBeUndefined();
  });
});
