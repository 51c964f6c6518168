import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestStack, type TestStack } from "../../testing/test-stack.js";

let stack: TestStack;
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const codeOf = (e: unknown) => ConnectError.from(e).code;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.close();
});

async function auditCount(): Promise<number> {
  const { rows } = await stack.mcpDb.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log");
  return rows[0]?.n ?? 0;
}

describe("gateway faults", () => {
  it("MCP server killed and restarted mid-run: calls fail fast with unavailable, then recover without restarting the gateway", async () => {
    const admin = await stack.login("admin@company.com", stack.passwords.admin);
    const gw = stack.gatewayClient();
    const create = (title: string) =>
      gw.callTool(
        { name: "create_ticket", argumentsJson: JSON.stringify({ title, description: "restart test" }) },
        bearer(admin.accessToken),
      );
    await create("before restart");

    await stack.stopMcp();
    const down = await create("while down").catch((e: unknown) => ConnectError.from(e));
    expect(down).toBeInstanceOf(ConnectError);
    expect((down as ConnectError).code).toBe(Code.Unavailable);
    expect((down as ConnectError).rawMessage).not.toMatch(/eyJ|at .*\.ts:/);

    await stack.startMcp();
    // The old MCP session id is unknown to the new process (404): the gateway re-initializes once.
    const after = await create("after restart");
    expect(after.isError).toBe(false);
    const { rows } = await stack.mcpDb.query<{ title: string; created_by: string }>(
      "SELECT title, created_by FROM tickets WHERE title IN ('before restart', 'while down', 'after restart') ORDER BY id",
    );
    expect(rows.map((r) => r.title)).toEqual(["before restart", "after restart"]);
    for (const r of rows) expect(r.created_by).toBe(admin.userId);
  });

  it("restart under load: callers keep calling while the MCP server dies and comes back; only unavailable in between", async () => {
    const users = await Promise.all(
      (["admin", "agent", "viewer"] as const).map((role) =>
        stack.login(`${role}@company.com`, stack.passwords[role]),
      ),
    );
    const gw = stack.gatewayClient();
    const outcomes: { at: number; end: number; code: string }[] = [];
    let running = true;
    const worker = async (i: number) => {
      while (running) {
        const at = performance.now();
        const code = await gw
          .callTool(
            { name: "list_tickets", argumentsJson: JSON.stringify({ limit: 5 }) },
            bearer(users[i % 3]?.accessToken ?? ""),
          )
          .then(() => "ok")
          .catch((e: unknown) => Code[ConnectError.from(e).code] ?? "unknown");
        outcomes.push({ at, end: performance.now(), code });
      }
    };
    // Warm: each user's MCP session and exchanged token exist before the load starts.
    await Promise.all(
      users.map((u) => gw.callTool({ name: "list_tickets", argumentsJson: "{}" }, bearer(u.accessToken))),
    );
    const workers = Array.from({ length: 12 }, (_, i) => worker(i));
    // Conditions, not durations: on a busy machine 500 ms may see no call finish.
    await vi.waitUntil(() => outcomes.length >= 12, { timeout: 60_000, interval: 20 });
    const stoppedAt = performance.now();
    await stack.stopMcp();
    await new Promise((r) => setTimeout(r, 300));
    await stack.startMcp();
    const restartedAt = performance.now();
    await vi.waitUntil(() => outcomes.filter((o) => o.at > restartedAt + 50).length >= 12, {
      timeout: 60_000,
      interval: 20,
    });
    running = false;
    await Promise.all(workers);

    // Calls finished before the kill, calls started once it was back, and the rest (in flight at the
    // kill, or made while it was down or starting).
    const before = outcomes.filter((o) => o.end < stoppedAt);
    const after = outcomes.filter((o) => o.at > restartedAt + 50);
    const between = outcomes.filter((o) => o.end >= stoppedAt && o.at <= restartedAt + 50);
    expect(before.length).toBeGreaterThan(0);
    expect(after.length).toBeGreaterThan(0);
    expect(new Set(before.map((o) => o.code))).toEqual(new Set(["ok"]));
    expect(new Set(after.map((o) => o.code))).toEqual(new Set(["ok"]));
    // While it is down or coming up, calls fail cleanly as unavailable (or succeed), nothing else.
    for (const o of between) expect(["ok", "Unavailable"]).toContain(o.code);
  }, 180_000);

  it("a forged caller token is refused with unauthenticated and no MCP call is made", async () => {
    const admin = await stack.login("admin@company.com", stack.passwords.admin);
    const before = await auditCount();
    const exchangesBefore = stack.gateway.tokenSource.exchanges;
    const tampered = `${admin.accessToken.slice(0, -6)}AAAAAA`;
    const err = await stack
      .gatewayClient()
      .callTool({ name: "list_tickets", argumentsJson: "{}" }, bearer(tampered))
      .catch((e: unknown) => ConnectError.from(e));
    expect(codeOf(err)).toBe(Code.Unauthenticated);
    expect(await auditCount()).toBe(before);
    expect(stack.gateway.tokenSource.exchanges).toBe(exchangesBefore);
  });
});

describe("expired caller token", () => {
  let short: TestStack;
  beforeAll(async () => {
    // Access tokens live 2 s and verifiers allow no clock skew, so expiry is reached in the test.
    short = await startTestStack({ ACCESS_TOKEN_TTL: "2s", CLOCK_TOLERANCE: "0s" });
  });
  afterAll(async () => {
    await short?.close();
  });

  it("is refused with unauthenticated and no MCP call is made", async () => {
    const admin = await short.login("admin@company.com", short.passwords.admin);
    const gw = short.gatewayClient();
    await gw.callTool({ name: "list_tickets", argumentsJson: "{}" }, bearer(admin.accessToken));
    const { rows } = await short.mcpDb.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log");
    const exchanges = short.gateway.tokenSource.exchanges;
    await new Promise((r) => setTimeout(r, 2_500));
    const err = await gw
      .callTool({ name: "list_tickets", argumentsJson: "{}" }, bearer(admin.accessToken))
      .catch((e: unknown) => ConnectError.from(e));
    expect(codeOf(err)).toBe(Code.Unauthenticated);
    expect((err as ConnectError).rawMessage).toMatch(/^expired/);
    const after = await short.mcpDb.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log");
    expect(after.rows[0]?.n).toBe(rows[0]?.n);
    expect(short.gateway.tokenSource.exchanges).toBe(exchanges);
  });

  it("after a refresh the next calls use the new token, also once the old one has expired", async () => {
    const login = await short.login("agent@company.com", short.passwords.agent);
    const gw = short.gatewayClient();
    await gw.callTool({ name: "list_tickets", argumentsJson: "{}" }, bearer(login.accessToken));
    const sessions = short.gateway.pool.size;
    // Let the first access token (and the MCP token exchanged from it) expire, then refresh: the
    // renewal of the MCP token must be made with the refreshed token, on the same MCP session.
    await new Promise((r) => setTimeout(r, 2_500));
    const refreshed = await short.refresh(login.refreshToken);
    const res = await gw.callTool(
      { name: "create_ticket", argumentsJson: JSON.stringify({ title: "after refresh", description: "x" }) },
      bearer(refreshed.accessToken),
    );
    expect(
      (JSON.parse(res.structuredContentJson) as { ticket: { created_by: string } }).ticket.created_by,
    ).toBe(login.userId);
    expect(short.gateway.pool.size).toBe(sessions);
  });
});
