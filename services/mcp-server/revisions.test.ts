import {
  Client as ClientV2,
  StreamableHTTPClientTransport as TransportV2,
} from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, type Harness, initializeBody, startHarness, structured, VIEWER } from "./testing/harness.js";

/**
 * One `/mcp` endpoint, both revisions (docs/mcp-server.md, "Revisions"): clients nobody here wrote
 * — the SDK v2 client in each negotiation mode and the 1.x client — and raw HTTP for the 2026-07-28
 * checks (header/body mismatch, unsupported version, cache hints).
 */
let h: Harness;
let adminToken: string;
let viewerToken: string;
const clients: ClientV2[] = [];

beforeAll(async () => {
  h = await startHarness();
  adminToken = await h.token(ADMIN);
  viewerToken = await h.token(VIEWER);
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await h?.close();
});

type Mode = "legacy" | "auto" | { pin: string };

async function connectV2(token: string, mode: Mode): Promise<ClientV2> {
  const transport = new TransportV2(h.mcpUrl, {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new ClientV2({ name: "revisions-test", version: "1.0.0" }, { versionNegotiation: { mode } });
  await client.connect(transport);
  clients.push(client);
  return client;
}

const MODERN = "2026-07-28";
const envelope = (extra: Record<string, unknown> = {}) => ({
  "io.modelcontextprotocol/protocolVersion": MODERN,
  "io.modelcontextprotocol/clientCapabilities": {},
  "io.modelcontextprotocol/clientInfo": { name: "raw-http", version: "1.0.0" },
  ...extra,
});
const modernHeaders = (token: string, method: string, name?: string) => ({
  authorization: `Bearer ${token}`,
  "mcp-protocol-version": MODERN,
  "mcp-method": method,
  ...(name ? { "mcp-name": name } : {}),
});

describe("negotiation with the SDK v2 client", () => {
  it.each([
    ["legacy", "2025-11-25", "legacy" as Mode],
    ["auto", MODERN, "auto" as Mode],
    ["pinned 2026-07-28", MODERN, { pin: MODERN } as Mode],
  ])("%s mode is served %s, with the caller's tools", async (_label, expected, mode) => {
    const admin = await connectV2(adminToken, mode);
    expect(admin.getNegotiatedProtocolVersion()).toBe(expected);
    expect((await admin.listTools()).tools).toHaveLength(13);
    const created = structured<{ ticket: { id: number } }>(
      await admin.callTool({
        name: "create_ticket",
        arguments: { title: `v2 ${String(expected)}`, description: "d" },
      }),
    );
    expect(created.ticket.id).toBeGreaterThan(0);

    const viewer = await connectV2(viewerToken, mode);
    const names = (await viewer.listTools()).tools.map((t) => t.name);
    expect(names).toContain("list_tickets");
    expect(names).not.toContain("create_ticket");
  });

  it("the 1.x client still negotiates 2025-11-25 with a session", async () => {
    const client = await h.connect(adminToken);
    expect((await client.listTools()).tools).toHaveLength(13);
    expect(h.server.activeSessions()).toBeGreaterThan(0);
  });
});

describe("2026-07-28 over raw HTTP", () => {
  it("server/discover offers 2026-07-28, statelessly (the 2025 family is negotiated by initialize)", async () => {
    const res = await h.post(
      { jsonrpc: "2.0", id: 1, method: "server/discover", params: { _meta: envelope() } },
      modernHeaders(adminToken, "server/discover"),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("mcp-session-id")).toBeNull();
    const body = (await res.json()) as { result: { supportedVersions: string[] } };
    expect(body.result.supportedVersions).toContain(MODERN);
  });

  it("tools/list is cacheable only by the caller (cacheScope private)", async () => {
    const res = await h.post(
      { jsonrpc: "2.0", id: 2, method: "tools/list", params: { _meta: envelope() } },
      modernHeaders(viewerToken, "tools/list"),
    );
    expect(res.status).toBe(200);
    const { result } = (await res.json()) as {
      result: { tools: unknown[]; ttlMs: number; cacheScope: string };
    };
    expect(result.cacheScope).toBe("private");
    expect(result.ttlMs).toBeGreaterThan(0);
    expect(result.tools.length).toBeLessThan(13);
  });

  it("an Mcp-Method header that contradicts the body is refused with 400 and -32020", async () => {
    const res = await h.post(
      { jsonrpc: "2.0", id: 3, method: "tools/list", params: { _meta: envelope() } },
      modernHeaders(adminToken, "tools/call"),
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32020);
  });

  it("an Mcp-Name header that contradicts the tool named in the body is refused the same way", async () => {
    const res = await h.post(
      {
        jsonrpc: "2.0",
        id: 4,
        method: "tools/call",
        params: { name: "list_tickets", arguments: {}, _meta: envelope() },
      },
      modernHeaders(adminToken, "tools/call", "delete_ticket"),
    );
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32020);
  });

  it("an unsupported revision is answered 400 with the versions this server speaks", async () => {
    const res = await h.post(
      {
        jsonrpc: "2.0",
        id: 5,
        method: "tools/list",
        params: { _meta: envelope({ "io.modelcontextprotocol/protocolVersion": "2099-01-01" }) },
      },
      { ...modernHeaders(adminToken, "tools/list"), "mcp-protocol-version": "2099-01-01" },
    );
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { code: number; data: { supported: string[] } } };
    expect(error.code).toBe(-32022);
    expect(error.data.supported).toContain(MODERN);
  });

  it("keeps bearer auth and step-up: 401 without a token, 403 + insufficient_scope for a write by a viewer", async () => {
    const anonymous = await h.post(
      { jsonrpc: "2.0", id: 6, method: "tools/list", params: { _meta: envelope() } },
      { "mcp-protocol-version": MODERN, "mcp-method": "tools/list" },
    );
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer .*resource_metadata=/);

    const write = await h.post(
      {
        jsonrpc: "2.0",
        id: 7,
        method: "tools/call",
        params: { name: "create_ticket", arguments: { title: "t", description: "d" }, _meta: envelope() },
      },
      modernHeaders(viewerToken, "tools/call", "create_ticket"),
    );
    expect(write.status).toBe(403);
    expect(write.headers.get("www-authenticate")).toMatch(/insufficient_scope/);
  });

  it("audits a 2026-07-28 call with no session and the caller's identity", async () => {
    const res = await h.post(
      {
        jsonrpc: "2.0",
        id: 8,
        method: "tools/call",
        params: { name: "get_ticket_stats", arguments: {}, _meta: envelope() },
      },
      modernHeaders(adminToken, "tools/call", "get_ticket_stats"),
    );
    expect(res.status).toBe(200);
    const { result } = (await res.json()) as { result: { isError?: boolean; resultType?: string } };
    expect(result.isError).toBeFalsy();
    const rows = await h.db.query<{ user_id: string; session_id: string | null }>(
      "SELECT user_id, session_id FROM audit_log WHERE tool = 'get_ticket_stats' ORDER BY id DESC LIMIT 1",
    );
    expect(rows.rows[0]).toMatchObject({ user_id: ADMIN.sub, session_id: null });
  });
});

describe("2025 initialize negotiation", () => {
  it.each([
    ["2024-11-05", "2024-11-05"],
    ["2025-03-26", "2025-03-26"],
    ["2025-06-18", "2025-06-18"],
    ["2025-11-25", "2025-11-25"],
    [MODERN, "2025-11-25"],
  ])("initialize asking %s is answered with %s", async (asked, served) => {
    const body = initializeBody();
    body.params.protocolVersion = asked;
    const res = await h.post(body, { authorization: `Bearer ${adminToken}` });
    expect(res.status).toBe(200);
    const json = (await res.json()) as { result: { protocolVersion: string } };
    expect(json.result.protocolVersion).toBe(served);
  });
});
