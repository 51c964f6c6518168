import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { McpGatewayService } from "#gen/supportext/mcpgateway/v1/mcp_gateway_pb.js";
import { SERVICE_AUTHORIZATION_HEADER, SERVICE_IDS } from "#kit/auth/index.js";
import { configuredClientCredentials } from "#kit/service/index.js";
import { startTestStack, type TestStack } from "../../testing/test-stack.js";

/**
 * Who may call the gateway (docs/architecture.md, "Who may call what"): the agent service, with
 * the user's token and a credential naming a registered agent. Every other combination is refused
 * with the right code, and the agent named in the audit trail is the one the credential proves.
 */
let stack: TestStack;
let admin: { accessToken: string; userId: string };

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A gateway client whose service credential is exactly `serviceToken` (or none). */
function gatewayWith(serviceToken: string | undefined) {
  const interceptor: Interceptor = (next) => async (req) => {
    if (serviceToken !== undefined) req.header.set(SERVICE_AUTHORIZATION_HEADER, `Bearer ${serviceToken}`);
    return next(req);
  };
  return createClient(
    McpGatewayService,
    createGrpcTransport({ baseUrl: stack.gateway.url, interceptors: [interceptor] }),
  );
}

async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (!err) throw new Error("the call was accepted");
  return err;
}

/** A service token signed by a key the issuer never published, with otherwise valid claims. */
async function forgedServiceToken(
  claims: Record<string, unknown>,
  alg: "ES256" | "none" = "ES256",
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    iss: stack.config.AUTH_ISSUER,
    jti: crypto.randomUUID(),
    iat: now,
    nbf: now,
    exp: now + 300,
    ...claims,
  };
  if (alg === "none") {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
    return `${b64({ alg: "none", typ: "at+jwt" })}.${b64(payload)}.`;
  }
  const { privateKey } = await jose.generateKeyPair("ES256");
  return new jose.SignJWT(payload)
    .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: "stranger" })
    .sign(privateKey);
}

beforeAll(async () => {
  stack = await startTestStack();
  admin = await stack.login("admin@company.com", stack.passwords.admin);
});
afterAll(async () => {
  await stack?.close();
});

describe("gateway callers", () => {
  it("the agent service with a registered agent and the user's token is served, and audited as that agent", async () => {
    const res = await stack
      .gatewayClient("grpc", "support-assistant")
      .callTool({ name: "get_ticket_stats", argumentsJson: "{}" }, { headers: bearer(admin.accessToken) });
    expect(res.isError).toBe(false);
    const { rows } = await stack.mcpDb.query<{ actor_sub: string; actor_agent: string }>(
      "SELECT actor_sub, actor_agent FROM audit_log WHERE user_id = $1 AND tool = 'get_ticket_stats' ORDER BY id DESC LIMIT 1",
      [admin.userId],
    );
    expect(rows[0]).toEqual({ actor_sub: SERVICE_IDS.gateway, actor_agent: "support-assistant" });
  });

  it("refuses every caller the rule does not admit, with the right code", async () => {
    const agentCreds = configuredClientCredentials(stack.config, SERVICE_IDS.agent);
    const gatewayCreds = configuredClientCredentials(stack.config, SERVICE_IDS.gateway);
    const mcpCreds = configuredClientCredentials(stack.config, SERVICE_IDS.mcpServer);
    const chatCreds = configuredClientCredentials(stack.config, SERVICE_IDS.chat);
    const userToken = admin.accessToken;
    // null: no user token at all (undefined would take the default).
    const call =
      (serviceToken: string | undefined, user: string | null = userToken) =>
      () =>
        refusal(
          gatewayWith(serviceToken).callTool(
            { name: "create_ticket", argumentsJson: '{"title":"must not exist"}' },
            user ? { headers: bearer(user) } : {},
          ),
        );
    const cases: [string, () => Promise<ConnectError>, Code, RegExp][] = [
      [
        "user token, no calling service",
        call(undefined),
        Code.PermissionDenied,
        /serves the agent service only/,
      ],
      [
        "agent credential, no user",
        call(await agentCreds.tokenFor(SERVICE_IDS.gateway, "support-assistant"), null),
        Code.Unauthenticated,
        /missing_token/,
      ],
      [
        "agent credential without an agent",
        call(await agentCreds.tokenFor(SERVICE_IDS.gateway)),
        Code.PermissionDenied,
        /prove the agent/,
      ],
      [
        "agent credential for the identity service",
        call(await agentCreds.tokenFor(SERVICE_IDS.identity)),
        Code.Unauthenticated,
        /wrong_audience/,
      ],
      [
        "chat's credential for the agent service",
        call(await chatCreds.tokenFor(SERVICE_IDS.agent)),
        Code.Unauthenticated,
        /wrong_audience/,
      ],
      [
        "the MCP server's credential",
        call(await mcpCreds.tokenFor(SERVICE_IDS.identity)),
        Code.Unauthenticated,
        /wrong_audience/,
      ],
      [
        "the gateway's own credential",
        call(await gatewayCreds.tokenFor(SERVICE_IDS.identity)),
        Code.Unauthenticated,
        /wrong_audience/,
      ],
      [
        "the user's token as service credential",
        call(userToken),
        Code.Unauthenticated,
        /wrong_audience|missing_claim/,
      ],
      [
        "a forged agent credential (unknown key)",
        call(
          await forgedServiceToken({
            aud: SERVICE_IDS.gateway,
            sub: "agent",
            client_id: "agent",
            agent: "support-assistant",
          }),
        ),
        Code.Unauthenticated,
        /unknown_key|jwks_unavailable/,
      ],
      [
        "an unsigned agent credential",
        call(
          await forgedServiceToken(
            { aud: SERVICE_IDS.gateway, sub: "agent", client_id: "agent", agent: "x" },
            "none",
          ),
        ),
        Code.Unauthenticated,
        /unsigned_token/,
      ],
      ["a malformed service credential", call("not-a-jwt"), Code.Unauthenticated, /malformed/],
    ];
    for (const [name, attempt, code, message] of cases) {
      const err = await attempt().catch(
        (e: unknown) => new ConnectError(`${name}: ${String(e)}`, Code.Unknown),
      );
      expect(`${name} → ${Code[err.code]}: ${err.rawMessage}`).toContain(`${name} → ${Code[code]}: `);
      expect(err.rawMessage, name).toMatch(message);
    }
    const { rows } = await stack.mcpDb.query(
      "SELECT 1 FROM audit_log WHERE arguments->>'title' = 'must not exist'",
    );
    expect(rows).toHaveLength(0);
  });

  it("the identity provider names only registered agents: the agent service cannot act as an unknown one", async () => {
    const agentCreds = configuredClientCredentials(stack.config, SERVICE_IDS.agent);
    const err = ConnectError.from(
      await agentCreds.tokenFor(SERVICE_IDS.gateway, "no-such-agent").catch((e: unknown) => e),
    );
    expect(err.code).toBe(Code.PermissionDenied);
  });

  it("an agent whose allow-list is narrower than its user's scopes is refused permission_denied, and audited once", async () => {
    // Write tools allowed, but not update_ticket: the user (admin) holds tickets:write, the agent does not hold the tool.
    await stack.agent.database.query(
      `INSERT INTO agents (id, name, system_prompt, model, allowed_tools, max_tool_calls, max_model_turns)
       VALUES ('ticket-opener', 'Ticket Opener', 'Opens tickets.', 'embedded', '["create_ticket","get_ticket"]', 5, 5)`,
    );
    await stack.registerAgent("ticket-opener", ["create_ticket", "get_ticket"]);
    const gw = stack.gatewayClient("grpc", "ticket-opener");
    const { tools } = await gw.listTools({}, { headers: bearer(admin.accessToken) });
    expect(tools.map((t) => t.name).sort()).toEqual(["create_ticket", "get_ticket"]);
    const err = await refusal(
      gw.callTool(
        { name: "update_ticket", argumentsJson: '{"ticket_id":1,"priority":"low"}' },
        { headers: bearer(admin.accessToken) },
      ),
    );
    expect(Code[err.code]).toBe("PermissionDenied");
    expect(err.rawMessage).toMatch(/agent_not_allowed/);
    const { rows } = await stack.mcpDb.query<{ outcome: string; error_code: string; actor_agent: string }>(
      "SELECT outcome, error_code, actor_agent FROM audit_log WHERE user_id = $1 AND tool = 'update_ticket'",
      [admin.userId],
    );
    expect(rows).toEqual([
      { outcome: "refused", error_code: "agent_not_allowed", actor_agent: "ticket-opener" },
    ]);
  });
});

describe("direct user calls (GATEWAY_ALLOW_DIRECT_USERS=1, development)", () => {
  let direct: TestStack;
  beforeAll(async () => {
    direct = await startTestStack({ GATEWAY_ALLOW_DIRECT_USERS: "1" });
  });
  afterAll(async () => {
    await direct?.close();
  });

  it("a user alone is served with their own scopes and audited with the gateway as the only actor", async () => {
    const user = await direct.login("agent@company.com", direct.passwords.agent);
    const gw = direct.gatewayClient("grpc", "");
    const { tools } = await gw.listTools({}, { headers: bearer(user.accessToken) });
    expect(tools).toHaveLength(12);
    await gw.callTool(
      { name: "get_ticket_stats", argumentsJson: "{}" },
      { headers: bearer(user.accessToken) },
    );
    const { rows } = await direct.mcpDb.query<{ actor_sub: string; actor_agent: string | null }>(
      "SELECT actor_sub, actor_agent FROM audit_log WHERE user_id = $1",
      [user.userId],
    );
    expect(rows).toEqual([{ actor_sub: SERVICE_IDS.gateway, actor_agent: null }]);
  });

  it("a present but bad service credential is still refused", async () => {
    const user = await direct.login("agent@company.com", direct.passwords.agent);
    const interceptor: Interceptor = (next) => async (req) => {
      req.header.set(SERVICE_AUTHORIZATION_HEADER, "Bearer not-a-jwt");
      return next(req);
    };
    const gw = createClient(
      McpGatewayService,
      createGrpcTransport({ baseUrl: direct.gateway.url, interceptors: [interceptor] }),
    );
    const err = await refusal(gw.listTools({}, { headers: bearer(user.accessToken) }));
    expect(err.code).toBe(Code.Unauthenticated);
  });
});
