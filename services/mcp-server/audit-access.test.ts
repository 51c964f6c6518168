import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditOutcome, AuditService, WitnessCheck_State } from "#gen/supportext/audit/v1/audit_pb.js";
import { readAuditHead } from "./data/audit-head.js";
import {
  ADMIN,
  AGENT,
  type Harness,
  startHarness,
  structured,
  type TestUser,
  VIEWER,
} from "./testing/harness.js";
import { type LoginStub, startLoginStub } from "./testing/login-stub.js";
import { runAuditCli } from "./testing/run-audit-cli.js";

let h: Harness;
let stub: LoginStub;
const PASSWORDS = { admin: "admin-pass-1", viewer: "viewer-pass-1" };

beforeAll(async () => {
  h = await startHarness();
  stub = await startLoginStub(h.issuer, h.config.API_AUDIENCE, [
    { ...ADMIN, password: PASSWORDS.admin },
    { ...VIEWER, password: PASSWORDS.viewer },
  ]);
  const agent = await h.connect(
    await h.token(AGENT, { act: { sub: "mcp-gateway", act: { sub: "agent", agent: "support-assistant" } } }),
  );
  structured(await agent.callTool({ name: "create_ticket", arguments: { title: "Read me later" } }));
  structured(await agent.callTool({ name: "list_tickets", arguments: {} }));
});
afterAll(async () => {
  await stub.close();
  await h.close();
});

/** A user's own access token, as Login returns it: audience API_AUDIENCE, not this server. */
const loginToken = (u: TestUser) =>
  h.issuer.mint({ sub: u.sub, email: u.email, roles: u.roles, scope: u.scope, aud: h.config.API_AUDIENCE });

const readAudit = (token: string | undefined, query = "") =>
  fetch(`${h.server.url}/admin/audit${query}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });

const auditClient = () =>
  createClient(AuditService, createConnectTransport({ baseUrl: h.server.url, httpVersion: "1.1" }));
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

async function rpcError(p: Promise<unknown>): Promise<ConnectError> {
  return p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (err: unknown) => ConnectError.from(err),
  );
}

describe("an administrator reads the trail with their own login while the server runs", () => {
  it("GET /admin/audit: admin login token 200, viewer login token 403, no token 401", async () => {
    const ok = await readAudit(await loginToken(ADMIN), `?user=${AGENT.email}`);
    expect(ok.status).toBe(200);
    const { entries } = (await ok.json()) as { entries: { tool: string; actor_chain: unknown }[] };
    expect(entries.map((e) => e.tool)).toEqual(["list_tickets", "create_ticket"]);
    expect(entries[0]?.actor_chain).toEqual([
      { sub: "mcp-gateway" },
      { sub: "agent", agent: "support-assistant" },
    ]);

    const viewer = await readAudit(await loginToken(VIEWER));
    expect(viewer.status).toBe(403);
    expect(await viewer.json()).toMatchObject({ error: "insufficient_scope", scope: "audit:read" });
    const none = await readAudit(undefined);
    expect(none.status).toBe(401);
    // The login token opens the audit trail, not /mcp.
    const mcp = await h.post(
      { jsonrpc: "2.0", id: 1, method: "tools/list" },
      { authorization: `Bearer ${await loginToken(ADMIN)}` },
    );
    expect(mcp.status).toBe(401);
    expect(await mcp.json()).toMatchObject({ reason: "wrong_audience" });
  });

  it("AuditService.ListAuditEntries: admin ok, viewer permission_denied, no token unauthenticated", async () => {
    const client = auditClient();
    const res = await client.listAuditEntries(
      { user: AGENT.email, outcome: AuditOutcome.OK, since: "1h" },
      bearer(await loginToken(ADMIN)),
    );
    expect(res.entries.map((e) => e.tool)).toEqual(["list_tickets", "create_ticket"]);
    const [entry] = res.entries;
    expect(entry).toMatchObject({
      userId: AGENT.sub,
      actorSub: "mcp-gateway",
      actorAgent: "support-assistant",
      outcome: AuditOutcome.OK,
    });
    expect(entry?.actorChain.map((a) => [a.sub, a.agent])).toEqual([
      ["mcp-gateway", undefined],
      ["agent", "support-assistant"],
    ]);
    expect(entry?.rowHash).toMatch(/^[0-9a-f]{64}$/);

    const viewer = await rpcError(client.listAuditEntries({}, bearer(await loginToken(VIEWER))));
    expect(viewer.code).toBe(Code.PermissionDenied);
    expect(viewer.rawMessage).toMatch(
      /^insufficient_scope: reading the audit trail needs scope "audit:read"/,
    );
    const none = await rpcError(client.listAuditEntries({}));
    expect(none.code).toBe(Code.Unauthenticated);
    // MCP tokens are for /mcp: the RPC takes the API audience only.
    const mcpToken = await rpcError(client.listAuditEntries({}, bearer(await h.token(ADMIN))));
    expect(mcpToken.code).toBe(Code.Unauthenticated);
    expect(mcpToken.rawMessage).toMatch(/^wrong_audience/);
    const bad = await rpcError(
      client.listAuditEntries({ since: "yesterday-ish" }, bearer(await loginToken(ADMIN))),
    );
    expect(bad.code).toBe(Code.InvalidArgument);
  });

  it("AuditService.VerifyAuditChain: intact, with the head the server records", async () => {
    const client = auditClient();
    const head = await readAuditHead(h.db);
    const res = await client.verifyAuditChain(
      { knownHead: head.hash as string },
      bearer(await loginToken(ADMIN)),
    );
    expect(res).toMatchObject({ intact: true, problemCount: 0n, knownHeadFound: true, headHash: head.hash });
    expect(res.witness?.state).toBe(WitnessCheck_State.UNREACHABLE);
    expect(Number(res.chainRows)).toBeGreaterThanOrEqual(head.seq);
    const viewer = await rpcError(client.verifyAuditChain({}, bearer(await loginToken(VIEWER))));
    expect(viewer.code).toBe(Code.PermissionDenied);
    const none = await rpcError(client.verifyAuditChain({}));
    expect(none.code).toBe(Code.Unauthenticated);
  });
});

describe("npm run audit against the running service", { timeout: 120_000 }, () => {
  const env = (password: string | undefined) => ({
    DATA_DIR: h.config.DATA_DIR,
    DATABASE_URL: h.config.DATABASE_URL,
    IDENTITY_URL: stub.url,
    MCP_URL: h.mcpUrl.href,
    AUDIT_PASSWORD: password,
  });
  // Embedded PGlite: the running server holds the database, so the CLI goes through it by itself.
  // PostgreSQL is never locked: there `--url` asks for the running service explicitly.
  const remote = () => (h.config.DATABASE_URL ? ["--url", h.server.url] : []);

  it("logs in with --email and reads the trail, then verifies the chain through the RPC", async () => {
    const logoutsBefore = stub.logouts;
    const list = await runAuditCli(
      [...remote(), "--email", ADMIN.email, "--user", AGENT.email, "--json"],
      env(PASSWORDS.admin),
    );
    expect(list.code).toBe(0);
    const rows = list.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { tool: string; user_id: string; actor_agent: string });
    expect(rows.map((r) => [r.tool, r.user_id, r.actor_agent])).toEqual([
      ["list_tickets", AGENT.sub, "support-assistant"],
      ["create_ticket", AGENT.sub, "support-assistant"],
    ]);
    const head = await readAuditHead(h.db);
    const verify = await runAuditCli([...remote(), "--email", ADMIN.email, "--verify"], env(PASSWORDS.admin));
    // The server asks the witness; none runs in this harness, and the report says so (exit 3).
    expect(verify.code).toBe(3);
    expect(verify.stdout).toMatch(
      new RegExp(`^\\d+ rows, chain intact, head ${head.hash}\\nwitness UNREACHABLE: `),
    );
    // The command ends the login session it opened.
    expect(stub.logouts).toBe(logoutsBefore + 2);
  });

  it("says what failed: a wrong password, a user without audit:read, no --email while the server holds the database", async () => {
    const wrong = await runAuditCli([...remote(), "--email", ADMIN.email], env("not-it"));
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(
      /(^|\n)login at http:\/\/127\.0\.0\.1:\d+ failed: unauthenticated: invalid email or password/,
    );
    const viewer = await runAuditCli(
      [...remote(), "--email", VIEWER.email, "--verify"],
      env(PASSWORDS.viewer),
    );
    expect(viewer.code).toBe(2);
    expect(viewer.stderr).toMatch(/VerifyAuditChain at .* failed: permission_denied: insufficient_scope/);
    const noPassword = await runAuditCli([...remote(), "--email", ADMIN.email], env(undefined));
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toMatch(/(^|\n)no password: set AUDIT_PASSWORD/);
    if (!h.config.DATABASE_URL) {
      const noEmail = await runAuditCli([], env(PASSWORDS.admin));
      expect(noEmail.code).toBe(2);
      expect(noEmail.stderr).toMatch(/has the embedded database .* open .*--email <admin email>/);
    }
  });
});
