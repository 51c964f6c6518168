import {
  type CallToolResult,
  Client,
  type ElicitRequest,
  type InputRequiredResult,
  ProtocolError,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyAuditChain } from "./audit/verify-chain.js";
import {
  ADMIN,
  errorText,
  type Harness,
  startHarness,
  structured,
  type TestUser,
} from "./testing/harness.js";

/**
 * Confirmation before destruction at the MCP server (docs/mcp-server.md, "Confirmation before destruction"), with the
 * SDK v2 client as a real MCP client would use it: on 2026-07-28 the question is an
 * `input_required` result and the answer a repeated call (by hand, and by the SDK's own
 * auto-fulfilment); on a 2025 session it is an `elicitation/create` request on the call's stream.
 */
let h: Harness;
const clients: Client[] = [];
const MODERN = "2026-07-28";
/** Another administrator: the same scopes as ADMIN, another user. */
const OTHER_ADMIN: TestUser = { ...ADMIN, sub: "u-admin-2b8e", email: "second.admin@company.com" };

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await h?.close();
});

type Answer = (request: ElicitRequest) => Promise<Record<string, unknown>>;

async function connect(
  token: string,
  mode: "legacy" | { pin: string },
  options: { answer?: Answer; manual?: boolean; elicitation?: boolean } = {},
): Promise<Client> {
  const client = new Client(
    { name: "confirmation-test", version: "1.0.0" },
    {
      versionNegotiation: { mode },
      ...(options.elicitation === false ? {} : { capabilities: { elicitation: { form: {} } } }),
      ...(options.manual ? { inputRequired: { autoFulfill: false } } : {}),
    },
  );
  if (options.elicitation !== false) {
    const answer = options.answer;
    client.setRequestHandler("elicitation/create", async (request) =>
      answer ? ((await answer(request)) as never) : ({ action: "cancel" } as never),
    );
  }
  await client.connect(
    new StreamableHTTPClientTransport(h.mcpUrl, {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  clients.push(client);
  return client;
}

async function newTicket(client: Client, title: string): Promise<number> {
  const created = structured<{ ticket: { id: number } }>(
    await client.callTool({ name: "create_ticket", arguments: { title } }),
  );
  return created.ticket.id;
}

const deletedAt = async (id: number) =>
  (await h.db.query<{ deleted_at: Date | null }>("SELECT deleted_at FROM tickets WHERE id = $1", [id]))
    .rows[0]?.deleted_at ?? null;

type Row = {
  user_id: string;
  outcome: string;
  error_code: string | null;
  confirmed_by: string | null;
  confirmed_at: Date | null;
};
const rowsFor = async (id: number) =>
  (
    await h.db.query<Row>(
      `SELECT user_id, outcome, error_code, confirmed_by, confirmed_at FROM audit_log
        WHERE tool = 'delete_ticket' AND arguments->>'ticket_id' = $1 ORDER BY seq`,
      [String(id)],
    )
  ).rows;

/** A tools/call sent by hand, so an `input_required` answer comes back as it is (2026-07-28). */
function callRaw(
  client: Client,
  params: Record<string, unknown>,
): Promise<CallToolResult | InputRequiredResult> {
  return client.request(
    { method: "tools/call", params } as never,
    { allowInputRequired: true } as never,
  ) as never;
}

describe("2026-07-28: the question is an input_required result, the answer a repeated call", () => {
  it("asks, changes nothing until the yes, then deletes once and audits who confirmed", async () => {
    const admin = await connect(await h.token(ADMIN), { pin: MODERN }, { manual: true });
    const id = await newTicket(admin, "printer on fire");
    const auditRows = await h.count("SELECT count(*) AS n FROM audit_log");

    const asked = (await callRaw(admin, {
      name: "delete_ticket",
      arguments: { ticket_id: id },
    })) as InputRequiredResult;
    expect(asked.resultType).toBe("input_required");
    const question = asked.inputRequests?.confirm as ElicitRequest;
    expect(question.method).toBe("elicitation/create");
    expect(question.params.message).toMatch(new RegExp(`^Delete ticket #${id} "printer on fire"\\?`));
    expect(question.params).toMatchObject({
      requestedSchema: { properties: { confirm: { type: "boolean", title: `Delete ticket #${id}` } } },
    });
    expect(typeof asked.requestState).toBe("string");
    // A question decides nothing: no change, no audit row.
    expect(await deletedAt(id)).toBeNull();
    expect(await h.count("SELECT count(*) AS n FROM audit_log")).toBe(auditRows);

    const before = Date.now();
    const done = (await callRaw(admin, {
      name: "delete_ticket",
      arguments: { ticket_id: id },
      inputResponses: { confirm: { action: "accept", content: { confirm: true } } },
      requestState: asked.requestState,
    })) as CallToolResult;
    expect(structured(done)).toEqual({ ticket_id: id, deleted: true, mode: "soft" });
    expect(await deletedAt(id)).not.toBeNull();
    const rows = await rowsFor(id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ user_id: ADMIN.sub, outcome: "ok", confirmed_by: ADMIN.sub });
    expect(rows[0]?.confirmed_at?.getTime()).toBeGreaterThanOrEqual(before - 5);
    const report = await verifyAuditChain(h.db);
    expect(report.problems).toEqual([]);
  });

  it("a no is audited as refused and deletes nothing", async () => {
    const admin = await connect(await h.token(ADMIN), { pin: MODERN }, { manual: true });
    const id = await newTicket(admin, "keep me");
    const asked = (await callRaw(admin, {
      name: "delete_ticket",
      arguments: { ticket_id: id },
    })) as InputRequiredResult;
    const cancelled = (await callRaw(admin, {
      name: "delete_ticket",
      arguments: { ticket_id: id },
      inputResponses: { confirm: { action: "decline" } },
      requestState: asked.requestState,
    })) as CallToolResult;
    expect(errorText(cancelled)).toMatch(/^cancelled_by_user: cancelled by the user/);
    expect(await deletedAt(id)).toBeNull();
    expect(await rowsFor(id)).toEqual([
      expect.objectContaining({ outcome: "refused", error_code: "cancelled_by_user", confirmed_by: null }),
    ]);
  });

  it("another user cannot answer the question: their repeat is refused before anything runs", async () => {
    const admin = await connect(await h.token(ADMIN), { pin: MODERN }, { manual: true });
    const id = await newTicket(admin, "not yours");
    const asked = (await callRaw(admin, {
      name: "delete_ticket",
      arguments: { ticket_id: id },
    })) as InputRequiredResult;
    const other = await connect(await h.token(OTHER_ADMIN), { pin: MODERN }, { manual: true });
    const err = await callRaw(other, {
      name: "delete_ticket",
      arguments: { ticket_id: id },
      inputResponses: { confirm: { action: "accept", content: { confirm: true } } },
      requestState: asked.requestState,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).message).toMatch(/Invalid or expired requestState/);
    expect(await deletedAt(id)).toBeNull();
    expect(await rowsFor(id)).toEqual([]);
  });

  it("a yes given to one question confirms no other call: it is asked again", async () => {
    const admin = await connect(await h.token(ADMIN), { pin: MODERN }, { manual: true });
    const first = await newTicket(admin, "first");
    const second = await newTicket(admin, "second");
    const asked = (await callRaw(admin, {
      name: "delete_ticket",
      arguments: { ticket_id: first },
    })) as InputRequiredResult;
    const again = (await callRaw(admin, {
      name: "delete_ticket",
      arguments: { ticket_id: second },
      inputResponses: { confirm: { action: "accept", content: { confirm: true } } },
      requestState: asked.requestState,
    })) as InputRequiredResult;
    expect(again.resultType).toBe("input_required");
    expect(await deletedAt(first)).toBeNull();
    expect(await deletedAt(second)).toBeNull();
  });

  it("the SDK's auto-fulfilment asks the client's own elicitation handler", async () => {
    const questions: string[] = [];
    const admin = await connect(
      await h.token(ADMIN),
      { pin: MODERN },
      {
        answer: async (request) => {
          questions.push(request.params.message);
          return { action: "accept", content: { confirm: true } };
        },
      },
    );
    const id = await newTicket(admin, "auto");
    const done = await admin.callTool({ name: "delete_ticket", arguments: { ticket_id: id } });
    expect(structured(done)).toMatchObject({ deleted: true });
    expect(questions).toEqual([expect.stringMatching(new RegExp(`^Delete ticket #${id} "auto"`))]);
    expect((await rowsFor(id))[0]).toMatchObject({ outcome: "ok", confirmed_by: ADMIN.sub });
  });

  it("a client that cannot ask cannot delete: refused and audited", async () => {
    const admin = await connect(await h.token(ADMIN), { pin: MODERN }, { elicitation: false });
    const id = await newTicket(admin, "no elicitation");
    const result = await admin.callTool({ name: "delete_ticket", arguments: { ticket_id: id } });
    expect(errorText(result)).toMatch(/^confirmation_unavailable: /);
    expect(await deletedAt(id)).toBeNull();
    expect(await rowsFor(id)).toEqual([
      expect.objectContaining({ outcome: "refused", error_code: "confirmation_unavailable" }),
    ]);
  });

  it("a missing ticket is not asked about", async () => {
    const admin = await connect(await h.token(ADMIN), { pin: MODERN }, { manual: true });
    const result = (await callRaw(admin, {
      name: "delete_ticket",
      arguments: { ticket_id: 999_999 },
    })) as CallToolResult;
    expect(errorText(result)).toMatch(/^not_found: ticket 999999/);
  });
});

describe("2025-11-25 session: the question is an elicitation/create request on the call's stream", () => {
  it("yes deletes once and names who confirmed; no deletes nothing", async () => {
    let reply: Record<string, unknown> = { action: "accept", content: { confirm: true } };
    const questions: string[] = [];
    const admin = await connect(await h.token(ADMIN), "legacy", {
      answer: async (request) => {
        questions.push(request.params.message);
        return reply;
      },
    });
    expect(admin.getNegotiatedProtocolVersion()).toBe("2025-11-25");
    const id = await newTicket(admin, "legacy delete");
    expect(
      structured(await admin.callTool({ name: "delete_ticket", arguments: { ticket_id: id } })),
    ).toMatchObject({ deleted: true });
    expect(questions).toHaveLength(1);
    expect((await rowsFor(id))[0]).toMatchObject({ outcome: "ok", confirmed_by: ADMIN.sub });

    reply = { action: "decline" };
    const kept = await newTicket(admin, "legacy keep");
    const result = await admin.callTool({ name: "delete_ticket", arguments: { ticket_id: kept } });
    expect(errorText(result)).toMatch(/^cancelled_by_user: /);
    expect(await deletedAt(kept)).toBeNull();
    expect((await verifyAuditChain(h.db)).problems).toEqual([]);
  });
});
