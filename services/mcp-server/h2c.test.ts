import * as http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, type Harness, initializeBody, startHarness } from "./testing/harness.js";

/**
 * The MCP routes share the kit's port (docs/architecture.md, "One port, three protocols"), so an
 * HTTP/2 client with prior knowledge reaches `/mcp` too: served as over HTTP/1.1, with the Host
 * allow-list read from `:authority`.
 */
let h: Harness;
let session: http2.ClientHttp2Session;

beforeAll(async () => {
  h = await startHarness();
  session = http2.connect(h.server.url);
  session.on("error", () => {});
});
afterAll(async () => {
  session?.destroy();
  await h?.close();
});

interface Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

function request(headers: http2.OutgoingHttpHeaders, body?: unknown): Promise<Answer> {
  const stream = session.request(headers, { endStream: body === undefined });
  if (body !== undefined) stream.end(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    let text = "";
    let head: http2.IncomingHttpHeaders = {};
    stream.setEncoding("utf8");
    stream.on("response", (h2Headers) => {
      head = h2Headers;
    });
    stream.on("data", (chunk: string) => {
      text += chunk;
    });
    stream.on("end", () => resolve({ status: Number(head[":status"]), headers: head, body: text }));
    stream.on("error", reject);
  });
}

const post = async (body: unknown, extra: http2.OutgoingHttpHeaders = {}) =>
  request(
    {
      ":method": "POST",
      ":path": "/mcp",
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      authorization: `Bearer ${await h.token(ADMIN)}`,
      ...extra,
    },
    body,
  );

describe("/mcp over h2c", () => {
  it("opens a 2025 session and lists the tools", async () => {
    const init = await post(initializeBody());
    expect(init.status).toBe(200);
    const sessionId = String(init.headers["mcp-session-id"]);
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const headers = { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" };
    expect((await post({ jsonrpc: "2.0", method: "notifications/initialized" }, headers)).status).toBe(202);
    const list = await post({ jsonrpc: "2.0", id: 2, method: "tools/list" }, headers);
    expect(list.status).toBe(200);
    expect(list.body).toContain('"list_tickets"');
  });

  it("refuses a foreign :authority (DNS rebinding) and a missing token as over HTTP/1.1", async () => {
    const foreign = await post(initializeBody(), { ":authority": "evil.example" });
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body).error.message).toMatch(/Host "evil.example" is not allowed/);
    const none = await request(
      { ":method": "POST", ":path": "/mcp", "content-type": "application/json" },
      initializeBody(),
    );
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toMatch(/resource_metadata=/);
  });
});
