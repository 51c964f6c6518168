import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentService } from "#gen/supportext/agent/v1/agent_pb.js";
import { SERVICE_AUTHORIZATION_HEADER, SERVICE_IDS } from "#kit/auth/index.js";
import { configuredClientCredentials } from "#kit/service/index.js";
import { type AgentTestStack, startAgentTestStack } from "../../testing/agent-test-stack.js";

/**
 * Who may call the agent service (docs/architecture.md, "Who may call what"): chat, for its user.
 * Each other combination is refused with the right code before any model turn or tool call.
 */
let stack: AgentTestStack;
let user: { accessToken: string; userId: string };

function agentWith(serviceToken: string | undefined) {
  const interceptor: Interceptor = (next) => async (req) => {
    if (serviceToken !== undefined) req.header.set(SERVICE_AUTHORIZATION_HEADER, `Bearer ${serviceToken}`);
    return next(req);
  };
  return createClient(
    AgentService,
    createGrpcTransport({ baseUrl: stack.agent.url, interceptors: [interceptor] }),
  );
}

async function runRefusal(serviceToken: string | undefined, userToken: string | null): Promise<ConnectError> {
  try {
    const headers: Record<string, string> = userToken ? { authorization: `Bearer ${userToken}` } : {};
    for await (const _ of agentWith(serviceToken).run(
      { agentId: "support-assistant", input: "create a ticket: must not exist" },
      { headers },
    )) {
      // a refused run yields nothing
    }
  } catch (e) {
    return ConnectError.from(e);
  }
  throw new Error("the run was accepted");
}

beforeAll(async () => {
  stack = await startAgentTestStack({ LOG_LEVEL: "info" });
  user = await stack.base.login("agent@company.com", stack.base.passwords.agent);
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

describe("agent service callers", () => {
  it("refuses every caller but chat-with-a-user, with the right code", async () => {
    const chat = configuredClientCredentials(stack.base.config, SERVICE_IDS.chat);
    const agentCreds = configuredClientCredentials(stack.base.config, SERVICE_IDS.agent);
    const gatewayCreds = configuredClientCredentials(stack.base.config, SERVICE_IDS.gateway);
    const cases: [string, () => Promise<ConnectError>, Code, RegExp][] = [
      [
        "user token, no calling service",
        () => runRefusal(undefined, user.accessToken),
        Code.PermissionDenied,
        /serves the chat service only/,
      ],
      [
        "chat's credential, no user",
        async () => runRefusal(await chat.tokenFor(SERVICE_IDS.agent), null),
        Code.Unauthenticated,
        /missing_token/,
      ],
      [
        "the agent service's own credential for the gateway",
        async () =>
          runRefusal(await agentCreds.tokenFor(SERVICE_IDS.gateway, "support-assistant"), user.accessToken),
        Code.Unauthenticated,
        /wrong_audience/,
      ],
      [
        "the gateway's credential for the identity service",
        async () => runRefusal(await gatewayCreds.tokenFor(SERVICE_IDS.identity), user.accessToken),
        Code.Unauthenticated,
        /wrong_audience/,
      ],
      [
        "a user token as the service credential",
        () => runRefusal(user.accessToken, user.accessToken),
        Code.Unauthenticated,
        /wrong_audience|missing_claim/,
      ],
    ];
    for (const [name, attempt, code, message] of cases) {
      const err = await attempt().catch(
        (e: unknown) => new ConnectError(`${name}: ${String(e)}`, Code.Unknown),
      );
      expect(`${name} → ${Code[err.code]}: ${err.rawMessage}`).toContain(`${name} → ${Code[code]}: `);
      expect(err.rawMessage, name).toMatch(message);
    }
    const { rows } = await stack.base.mcpDb.query("SELECT 1 FROM audit_log WHERE user_id = $1", [
      user.userId,
    ]);
    expect(rows).toHaveLength(0);
  });

  it("ListAgents without a calling service is refused even with a user token; GetAgent too", async () => {
    const headers = { authorization: `Bearer ${user.accessToken}` };
    const list = await agentWith(undefined)
      .listAgents({}, { headers })
      .catch((e: unknown) => ConnectError.from(e));
    expect((list as ConnectError).code).toBe(Code.PermissionDenied);
    const get = await agentWith(undefined)
      .getAgent({ agentId: "ticket-reader" })
      .catch((e: unknown) => ConnectError.from(e));
    expect((get as ConnectError).code).toBe(Code.PermissionDenied);
  });
});
