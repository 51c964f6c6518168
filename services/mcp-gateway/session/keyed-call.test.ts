import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { toNodeHandler } from "@modelcontextprotocol/node";
import { createMcpHandler, Server, SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/server";
import { afterEach, describe, expect, it } from "vitest";
import { IDEMPOTENCY_META_KEY } from "#kit/propagation/index.js";
import { testSession } from "../testing/test-session.js";
import type { McpTokenSource } from "../token/mcp-token-source.js";
import type { McpSession } from "./mcp-session.js";
import { MODERN_REVISION } from "./server-era.js";

/**
 * A keyed write whose connection is lost (docs/mcp-gateway.md, "Faults"): an SDK v2 server on
 * loopback that runs each tools/call and then, for the first one, drops the connection instead of
 * answering — the change was made, the answer lost.
 */
interface Upstream {
  readonly url: URL;
  /** The idempotency key of every tools/call the server ran. */
  readonly keys: unknown[];
  close(): Promise<void>;
}

const upstreams: Upstream[] = [];
afterEach(async () => {
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
});

async function startDroppingUpstream(): Promise<Upstream> {
  const keys: unknown[] = [];
  const factory = () => {
    const server = new Server(
      { name: "upstream", version: "1.0.0" },
      {
        capabilities: { tools: {} },
        supportedProtocolVersions: [MODERN_REVISION, ...SUPPORTED_PROTOCOL_VERSIONS],
        cacheHints: { "server/discover": { ttlMs: 60_000, cacheScope: "public" } },
      },
    );
    server.setRequestHandler("tools/list", () => ({
      tools: [{ name: "create", inputSchema: { type: "object" as const } }],
    }));
    server.setRequestHandler("tools/call", (request) => {
      keys.push(request.params._meta?.[IDEMPOTENCY_META_KEY]);
      return { content: [{ type: "text" as const, text: `created #${keys.length}` }] };
    });
    return server;
  };
  const handle = toNodeHandler(createMcpHandler(factory));
  let dropped = false;
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined;
    if (body?.method === "tools/call" && !dropped) {
      dropped = true;
      // Run it, then lose the answer: the socket goes away as if the server had died.
      keys.push(body.params?._meta?.[IDEMPOTENCY_META_KEY]);
      req.socket.destroy();
      return;
    }
    await handle(req, res, body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const upstream: Upstream = {
    url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`),
    keys,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  upstreams.push(upstream);
  return upstream;
}

const tokens: McpTokenSource = {
  mode: "exchange",
  exchanges: 0,
  tokenFor: async () => "token",
  dropSession: () => 0,
};

function sessionFor(upstream: Upstream): McpSession {
  return testSession("alice", upstream.url, tokens);
}

describe("a keyed write after a lost connection", () => {
  it("is sent once more with the same key in _meta, and the caller gets the answer", async () => {
    const upstream = await startDroppingUpstream();
    const session = sessionFor(upstream);
    const result = await session.callTool(
      "create",
      {},
      { idempotent: false, idempotencyKey: "turn-1:call_0" },
    );
    expect(upstream.keys).toEqual(["turn-1:call_0", "turn-1:call_0"]);
    expect(result.content).toEqual([{ type: "text", text: "created #2" }]);
    await session.close();
  });

  it("without a key it is not sent again: the failure goes back to the caller", async () => {
    const upstream = await startDroppingUpstream();
    const session = sessionFor(upstream);
    const failure = await session.callTool("create", {}, { idempotent: false }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Error);
    expect(upstream.keys).toEqual([undefined]);
    await session.close();
  });
});
