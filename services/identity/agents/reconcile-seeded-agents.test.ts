import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVICE_IDS } from "#kit/auth/index.js";
import { SEEDED_AGENT_IDS, seededAgentTools, TOOL_NAMES, TOOL_SCOPES } from "#kit/contract/index.js";
import {
  startTestIdentity,
  TEST_GATEWAY_ID,
  TEST_MCP_RESOURCE,
  type TestIdentity,
} from "../testing/test-identity.js";
import { clientCredentialsForm, exchangeForm, postTokenRequest } from "../testing/token-request.js";
import { createAgentRegistrations } from "./agent-registrations.js";
import { reconcileSeededAgents } from "./reconcile-seeded-agents.js";

/**
 * docs/adding-a-tool.md, "The agents' allow-lists": the seeded agents' lists follow the kit's rule on
 * every start, so an existing database gets a new tool at the next restart; an administrator's own
 * agent keeps the list they gave it.
 */
let identity: TestIdentity;

beforeAll(async () => {
  identity = await startTestIdentity();
});
afterAll(() => identity?.dispose());

const stored = async (agentId: string) =>
  (await createAgentRegistrations(identity.running.database).lookup(agentId))?.allowedTools;

/** The MCP tools an exchanged token for `agentId` carries (RFC 9396 authorization_details). */
async function toolsInExchangedToken(agentId: string): Promise<string[]> {
  const login = await identity.auth.login({ email: "admin@company.com", password: identity.passwords.admin });
  const actor = await postTokenRequest(
    identity.url,
    clientCredentialsForm({ audience: SERVICE_IDS.gateway, agentId }),
    { basic: [SERVICE_IDS.agent, identity.config.AGENT_CLIENT_SECRET] },
  );
  const res = await postTokenRequest(
    identity.url,
    exchangeForm({
      subjectToken: login.tokens?.accessToken ?? "",
      actorToken: actor.body.access_token as string,
      resource: TEST_MCP_RESOURCE,
    }),
    { basic: [TEST_GATEWAY_ID, identity.config.GATEWAY_CLIENT_SECRET] },
  );
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const details = jose.decodeJwt(res.body.access_token as string).authorization_details as {
    tools?: string[];
  }[];
  return details.flatMap((d) => d.tools ?? []);
}

describe("seeded agents' allow-lists, reconciled on every start", () => {
  it("gives an existing database's seeded agents a tool they did not have, after a restart, and leaves an administrator's agent alone", async () => {
    // A database from before get_system_health existed: its seeded rows lack it.
    const db = identity.running.database;
    await db.query(
      "UPDATE agent_registrations SET allowed_tools = array_remove(allowed_tools, 'get_system_health') WHERE agent_id = ANY($1::text[])",
      [[...SEEDED_AGENT_IDS]],
    );
    // An administrator's agent, by SQL (docs/identity.md, "Registered agents").
    await db.query("INSERT INTO agent_registrations (agent_id, allowed_tools) VALUES ($1, $2)", [
      "health-only",
      ["get_system_health"],
    ]);
    expect(await stored("support-assistant")).not.toContain("get_system_health");

    await identity.restart();

    expect(await stored("support-assistant")).toEqual([...TOOL_NAMES]);
    expect(await stored("ticket-reader")).toEqual(seededAgentTools("ticket-reader"));
    expect(await stored("ticket-reader")).toContain("get_system_health");
    expect(await stored("health-only")).toEqual(["get_system_health"]);
    expect((await toolsInExchangedToken("support-assistant")).sort()).toEqual([...TOOL_NAMES].sort());
    const line = identity.logs
      .records()
      .find((r) => r.msg === "seeded agent's allow-list reconciled" && r.agent_id === "support-assistant");
    expect(line).toMatchObject({ added: ["get_system_health"], removed: [] });
  });

  it("writes a 14th tool of the scope table into both seeded agents by its scope, and nothing else", async () => {
    // docs/adding-a-tool.md, step 1, for a read-only tool: one line in TOOL_SCOPES.
    const withNewTool = { ...TOOL_SCOPES, get_ticket_sla: "tickets:read" as const };
    const seeded = SEEDED_AGENT_IDS.map((agentId) => ({
      agentId,
      allowedTools: seededAgentTools(agentId, withNewTool),
    }));
    await reconcileSeededAgents(identity.running.database, seeded, identity.logs.logger);

    expect(await stored("support-assistant")).toEqual([...TOOL_NAMES, "get_ticket_sla"]);
    expect(await stored("ticket-reader")).toContain("get_ticket_sla");
    expect(await stored("health-only")).toEqual(["get_system_health"]);

    // An unchanged list is not rewritten: the next start logs nothing for it.
    const before = identity.logs.lines.length;
    await reconcileSeededAgents(identity.running.database, seeded, identity.logs.logger);
    expect(identity.logs.lines.slice(before).filter((l) => l.includes("reconciled"))).toEqual([]);
  });

  it("registers a seeded agent again if its row was deleted", async () => {
    await identity.running.database.query("DELETE FROM agent_registrations WHERE agent_id = 'ticket-reader'");
    await identity.restart();
    expect(await stored("ticket-reader")).toEqual(seededAgentTools("ticket-reader"));
  });
});
