import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../../testing/test-stack.js";

let stack: TestStack;
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 50));
}

beforeAll(async () => {
  // MCP sessions exist on the 2025 family only: pinned, as MCP_PROTOCOL_VERSION allows.
  stack = await startTestStack({
    GATEWAY_MAX_SESSIONS: "2",
    GATEWAY_SESSION_IDLE: "1s",
    MCP_PROTOCOL_VERSION: "2025-11-25",
  });
});
afterAll(async () => {
  await stack?.close();
});

describe("gateway MCP sessions (2025-11-25 pinned)", () => {
  it("are capped (least recently used closed on the MCP server too) and closed when idle", async () => {
    const users = await Promise.all(
      (["admin", "agent", "viewer"] as const).map((role) =>
        stack.login(`${role}@company.com`, stack.passwords[role]),
      ),
    );
    const gw = stack.gatewayClient();
    const call = (token: string) => gw.callTool({ name: "list_tickets", argumentsJson: "{}" }, bearer(token));
    for (const u of users) await call(u.accessToken);
    expect(stack.gateway.pool.size).toBe(2);
    // The evicted session was ended with a DELETE: the MCP server holds only the two kept.
    await until(() => stack.mcp()?.activeSessions() === 2);

    // The evicted user just gets a new session.
    await call(users[0]?.accessToken ?? "");
    expect(stack.gateway.pool.size).toBe(2);

    // Unused for longer than GATEWAY_SESSION_IDLE: all closed, here and on the MCP server.
    await until(() => stack.gateway.pool.size === 0);
    await until(() => stack.mcp()?.activeSessions() === 0);
    // And the next call simply opens a new one.
    await call(users[1]?.accessToken ?? "");
    expect(stack.gateway.pool.size).toBe(1);
  }, 30_000);
});
