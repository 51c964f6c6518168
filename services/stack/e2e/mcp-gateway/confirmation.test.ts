import { randomUUID } from "node:crypto";
import type { Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallToolResponse, McpGatewayService } from "#gen/supportext/mcpgateway/v1/mcp_gateway_pb.js";
import { hashPassword } from "#services/identity/passwords/password-hash.js";
import { startTestStack, type TestStack } from "../../testing/test-stack.js";

/**
 * A destructive tool's question through the gateway (docs/mcp-gateway.md, "Questions to the user"),
 * at both revisions of the gateway ↔ MCP server hop: the question comes back as `input_required`
 * and nothing runs; the call sent again with the user's yes runs once, named in the audit row; a
 * no runs nothing; a repeat of the answered call (same key) changes nothing twice.
 */
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const YES = { action: "accept", content: { confirm: true } };
const NO = { action: "decline" };

describe.each([
  ["2026-07-28", "2026-07-28"],
  ["2025-11-25", "2025-11-25"],
])("gateway ↔ MCP server at %s", (_label, revision) => {
  let stack: TestStack;
  let gw: Client<typeof McpGatewayService>;
  let admin: { accessToken: string; userId: string };

  beforeAll(async () => {
    stack = await startTestStack({ MCP_PROTOCOL_VERSION: revision });
    gw = stack.gatewayClient();
    admin = await stack.login("admin@company.com", stack.passwords.admin);
  });
  afterAll(async () => {
    await stack?.close();
  });

  const newTicket = async (title: string) => {
    const res = await gw.callTool(
      { name: "create_ticket", argumentsJson: JSON.stringify({ title }) },
      bearer(admin.accessToken),
    );
    return (JSON.parse(res.structuredContentJson) as { ticket: { id: number } }).ticket.id;
  };
  const deleteCall = (
    id: number,
    key: string,
    answer?: { responses: unknown; state: string },
    token = admin.accessToken,
  ) =>
    gw.callTool(
      {
        name: "delete_ticket",
        argumentsJson: JSON.stringify({ ticket_id: id }),
        idempotencyKey: key,
        ...(answer
          ? { inputResponsesJson: JSON.stringify(answer.responses), requestState: answer.state }
          : {}),
      },
      bearer(token),
    );
  const question = (res: CallToolResponse) => {
    expect(res.inputRequired, res.text).toBeDefined();
    const requests = JSON.parse(res.inputRequired?.inputRequestsJson ?? "{}") as Record<
      string,
      { method: string; params: { message: string } }
    >;
    const [key, request] = Object.entries(requests)[0] ?? [];
    return { key: key as string, request, state: res.inputRequired?.requestState ?? "" };
  };
  const deletedAt = async (id: number) =>
    (await stack.mcpDb.query<{ d: Date | null }>("SELECT deleted_at AS d FROM tickets WHERE id = $1", [id]))
      .rows[0]?.d ?? null;
  const rowsFor = async (id: number) =>
    (
      await stack.mcpDb.query<{ outcome: string; error_code: string | null; confirmed_by: string | null }>(
        `SELECT outcome, error_code, confirmed_by FROM audit_log
          WHERE tool = 'delete_ticket' AND arguments->>'ticket_id' = $1 ORDER BY seq`,
        [String(id)],
      )
    ).rows;

  it("asks first, deletes once after the yes (the audit row names who confirmed), and a repeat changes nothing", async () => {
    const id = await newTicket("VPN down (duplicate)");
    const key = `turn-${revision}:call-1`;
    const asked = question(await deleteCall(id, key));
    expect(asked.request?.method).toBe("elicitation/create");
    expect(asked.request?.params.message).toMatch(
      new RegExp(`^Delete ticket #${id} "VPN down \\(duplicate\\)"\\?`),
    );
    // 2026-07-28: the server's own state travels; 2025: the question stays in the server's call.
    if (revision === "2026-07-28") expect(asked.state).not.toBe("");
    else expect(asked.state).toBe("");
    expect(await deletedAt(id)).toBeNull();
    expect(await rowsFor(id)).toEqual([]);

    const done = await deleteCall(id, key, { responses: { [asked.key]: YES }, state: asked.state });
    expect(done.inputRequired).toBeUndefined();
    expect(JSON.parse(done.structuredContentJson)).toEqual({ ticket_id: id, deleted: true, mode: "soft" });
    expect(await deletedAt(id)).not.toBeNull();

    // The same answered call again (a lost connection's repeat): the first result, no second change.
    const repeat = await deleteCall(id, key, { responses: { [asked.key]: YES }, state: asked.state });
    expect(JSON.parse(repeat.structuredContentJson)).toEqual({ ticket_id: id, deleted: true, mode: "soft" });
    expect(await rowsFor(id)).toEqual([
      { outcome: "ok", error_code: null, confirmed_by: admin.userId },
      { outcome: "ok", error_code: "replayed", confirmed_by: null },
    ]);
  });

  it("the MCP server restarted between the question and the answer: the yes still holds, and deletes once", async () => {
    const id = await newTicket("asked before a restart");
    const key = `turn-${revision}:restart`;
    const asked = question(await deleteCall(id, key));
    await stack.stopMcp();
    await stack.startMcp();
    expect(await deletedAt(id)).toBeNull();
    const done = await deleteCall(id, key, { responses: { [asked.key]: YES }, state: asked.state });
    expect(JSON.parse(done.structuredContentJson)).toMatchObject({ ticket_id: id, deleted: true });
    expect(await rowsFor(id)).toEqual([{ outcome: "ok", error_code: null, confirmed_by: admin.userId }]);
  });

  it("a no deletes nothing and is audited as the user's refusal", async () => {
    const id = await newTicket("keep this one");
    const asked = question(await deleteCall(id, `turn-${revision}:no`));
    const res = await deleteCall(id, `turn-${revision}:no`, {
      responses: { [asked.key]: NO },
      state: asked.state,
    });
    expect(res.isError).toBe(true);
    expect(res.text).toMatch(/^cancelled_by_user: cancelled by the user/);
    expect(await deletedAt(id)).toBeNull();
    expect(await rowsFor(id)).toEqual([
      { outcome: "refused", error_code: "cancelled_by_user", confirmed_by: null },
    ]);
  });

  it("a yes to another question is no answer: the call asks again and changes nothing", async () => {
    const first = await newTicket("first");
    const second = await newTicket("second");
    const asked = question(await deleteCall(first, `turn-${revision}:a`));
    const res = await deleteCall(second, `turn-${revision}:b`, {
      responses: { [asked.key]: YES },
      state: asked.state,
    });
    expect(question(res).request?.params.message).toMatch(new RegExp(`^Delete ticket #${second} "second"`));
    expect(await deletedAt(first)).toBeNull();
    expect(await deletedAt(second)).toBeNull();
  });

  it.runIf(revision === "2026-07-28")(
    "another user's yes with the first user's state is no answer: asked again, nothing deleted",
    async () => {
      const id = await newTicket("someone else's");
      const key = "turn-cross:call-1";
      const asked = question(await deleteCall(id, key));
      // Another administrator (the same scopes), sending the first one's question and state back.
      const other = await stack.login(await addAdmin(stack, "second.admin"), "second-admin-password");
      const res = await deleteCall(
        id,
        key,
        { responses: { [asked.key]: YES }, state: asked.state },
        other.accessToken,
      );
      const again = question(res);
      expect(again.state).not.toBe("");
      expect(again.state).not.toBe(asked.state);
      expect(await deletedAt(id)).toBeNull();
      expect(await rowsFor(id)).toEqual([]);
    },
  );
});

/** A second administrator at the identity provider; returns the email (password "second-admin-password"). */
async function addAdmin(stack: TestStack, name: string): Promise<string> {
  const email = `${name}@company.com`;
  const hash = await hashPassword("second-admin-password", { N: 2 ** 10, r: 8, p: 1 });
  const id = randomUUID();
  await stack.identity.database.transaction(async (tx) => {
    await tx.query("INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4)", [
      id,
      email,
      name,
      hash,
    ]);
    await tx.query("INSERT INTO user_roles (user_id, role) VALUES ($1, 'admin')", [id]);
  });
  return email;
}
