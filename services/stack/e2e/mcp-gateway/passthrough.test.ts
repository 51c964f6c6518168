import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../../testing/test-stack.js";

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe("MCP_TOKEN_MODE=passthrough", () => {
  let stack: TestStack;
  beforeAll(async () => {
    // The MCP server must opt in to accepting the API audience for passthrough to work.
    stack = await startTestStack({ MCP_TOKEN_MODE: "passthrough", MCP_PASSTHROUGH_AUDIENCE: "1" });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("forwards the caller's own token: no exchange, tools scoped to the user, rows carry the user and no actor", async () => {
    const agent = await stack.login("agent@company.com", stack.passwords.agent);
    const gw = stack.gatewayClient();
    const { tools } = await gw.listTools({}, bearer(agent.accessToken));
    expect(tools).toHaveLength(12);
    const res = await gw.callTool(
      {
        name: "create_ticket",
        argumentsJson: JSON.stringify({ title: "Passthrough", description: "own token" }),
      },
      bearer(agent.accessToken),
    );
    const ticket = (JSON.parse(res.structuredContentJson) as { ticket: { id: number; created_by: string } })
      .ticket;
    expect(ticket.created_by).toBe(agent.userId);
    const { rows } = await stack.mcpDb.query<{ user_id: string; actor_sub: string | null }>(
      "SELECT user_id, actor_sub FROM audit_log WHERE tool = 'create_ticket' ORDER BY id DESC LIMIT 1",
    );
    expect(rows[0]).toEqual({ user_id: agent.userId, actor_sub: null });
    expect(stack.gateway.tokenSource.exchanges).toBe(0);
  });
});

describe("passthrough against an MCP server that accepts only its own audience", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ MCP_TOKEN_MODE: "passthrough" });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("is refused by the MCP server (wrong audience), surfaced as unauthenticated with the server's reason", async () => {
    const admin = await stack.login("admin@company.com", stack.passwords.admin);
    const err = await stack
      .gatewayClient()
      .listTools({}, bearer(admin.accessToken))
      .catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.Unauthenticated);
    expect((err as ConnectError).rawMessage).toContain("wrong_audience");
    expect((err as ConnectError).rawMessage).not.toContain(admin.accessToken);
  });
});
