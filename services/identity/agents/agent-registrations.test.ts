import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVICE_IDS } from "#kit/auth/index.js";
import { TOOL_NAMES } from "#kit/contract/index.js";
import {
  startTestIdentity,
  TEST_GATEWAY_ID,
  TEST_MCP_RESOURCE,
  type TestIdentity,
} from "../testing/test-identity.js";
import {
  type ClientAuth,
  clientCredentialsForm,
  exchangeForm,
  postTokenRequest,
} from "../testing/token-request.js";
import { createAgentRegistrations, SEED_AGENT_REGISTRATIONS } from "./agent-registrations.js";

/**
 * Agent registrations are the identity service's own data (no override here: the production
 * wiring): seeded on first start, read from its database by the token endpoint, and an agent an
 * administrator adds by SQL is usable at once. No agent service runs in this test at all.
 */
let identity: TestIdentity;
let agentClient: ClientAuth;
let gateway: ClientAuth;

beforeAll(async () => {
  identity = await startTestIdentity();
  agentClient = { basic: [SERVICE_IDS.agent, identity.config.AGENT_CLIENT_SECRET] };
  gateway = { basic: [TEST_GATEWAY_ID, identity.config.GATEWAY_CLIENT_SECRET] };
});
afterAll(() => identity?.dispose());

const agentToken = (agentId: string) =>
  postTokenRequest(
    identity.url,
    clientCredentialsForm({ audience: SERVICE_IDS.gateway, agentId }),
    agentClient,
  );

describe("agent registrations in the identity database", () => {
  it("seeds the two agents with their allow-lists, and finds nothing for an unknown or malformed id", async () => {
    const registrations = createAgentRegistrations(identity.running.database);
    for (const seeded of SEED_AGENT_REGISTRATIONS) {
      expect(await registrations.lookup(seeded.agentId)).toEqual(seeded);
    }
    expect((await registrations.lookup("support-assistant"))?.allowedTools).toEqual([...TOOL_NAMES]);
    expect(await registrations.lookup("no-such-agent")).toBeUndefined();
    expect(await registrations.lookup("bad id with spaces")).toBeUndefined();
    expect(await registrations.lookup("")).toBeUndefined();
  });

  it("names a seeded agent in a service token, refuses an unregistered one, and takes a new registration at once", async () => {
    const seeded = await agentToken("ticket-reader");
    expect(seeded.status, JSON.stringify(seeded.body)).toBe(200);
    expect(jose.decodeJwt(seeded.body.access_token as string).agent).toBe("ticket-reader");

    const unknown = await agentToken("ticket-searcher");
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toBe("invalid_request");

    await identity.running.database.query(
      "INSERT INTO agent_registrations (agent_id, allowed_tools) VALUES ($1, $2)",
      ["ticket-searcher", ["search_tickets", "get_ticket"]],
    );
    const added = await agentToken("ticket-searcher");
    expect(added.status, JSON.stringify(added.body)).toBe(200);
  });

  it("narrows an exchanged MCP token to the stored allow-list", async () => {
    const login = await identity.auth.login({
      email: "admin@company.com",
      password: identity.passwords.admin,
    });
    const actor = await agentToken("ticket-reader");
    const res = await postTokenRequest(
      identity.url,
      exchangeForm({
        subjectToken: login.tokens?.accessToken ?? "",
        actorToken: actor.body.access_token as string,
        resource: TEST_MCP_RESOURCE,
      }),
      gateway,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const claims = jose.decodeJwt(res.body.access_token as string);
    const details = claims.authorization_details as { type: string; tools?: string[] }[];
    const tools = details.flatMap((d) => d.tools ?? []);
    const reader = SEED_AGENT_REGISTRATIONS.find((a) => a.agentId === "ticket-reader");
    expect(tools.sort()).toEqual([...(reader?.allowedTools ?? [])].sort());
    expect(tools).not.toContain("delete_ticket");
    expect(tools).not.toContain("create_ticket");
  });
});
