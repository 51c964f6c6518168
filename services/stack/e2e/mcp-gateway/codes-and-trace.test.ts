import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../../testing/test-stack.js";

let stack: TestStack;
const bearer = (token: string, extra: Record<string, string> = {}) => ({
  headers: { authorization: `Bearer ${token}`, ...extra },
});

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

describe("gateway codes and trace (issue 11)", () => {
  it("deeply nested arguments are invalid_argument with a clean message, as at the MCP server", async () => {
    const { accessToken } = await stack.login("admin@company.com", stack.passwords.admin);
    const gw = stack.gatewayClient();
    for (const depth of [100, 10_000, 40_000]) {
      const nested = `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
      const err = await gw
        .callTool(
          { name: "create_ticket", argumentsJson: `{"title":"Nested one","description":${nested}}` },
          bearer(accessToken),
        )
        .then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
      expect(err?.code, `depth ${depth}`).toBe(Code.InvalidArgument);
      expect(err?.rawMessage).toBe("arguments_json: nested deeper than 64 levels");
    }
    // Shallow bad arguments still reach the MCP server and come back in its words.
    const shallow = await gw
      .callTool(
        { name: "create_ticket", argumentsJson: '{"title":"Nested one","description":{"a":1}}' },
        bearer(accessToken),
      )
      .catch((e: unknown) => ConnectError.from(e));
    expect(shallow).toMatchObject({ code: Code.InvalidArgument });
    expect((shallow as ConnectError).rawMessage).toMatch(/^invalid_arguments: description: /);
  });

  it("the token exchange is logged on the trace of the call that caused it", async () => {
    const { accessToken } = await stack.login("viewer@company.com", stack.passwords.viewer);
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const mark = stack.logs.identity.lines.length;
    await stack.gatewayClient().listTools(
      {},
      bearer(accessToken, {
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
        "x-request-id": "turn-exchange-1",
      }),
    );
    const exchanged = stack.logs.identity
      .records()
      .slice(mark)
      .filter((r) => r.msg === "token exchanged for the MCP resource");
    expect(exchanged).toHaveLength(1);
    expect(exchanged[0]).toMatchObject({ trace_id: traceId, request_id: "turn-exchange-1" });
  });
});
