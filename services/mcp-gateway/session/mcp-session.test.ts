import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { toNodeHandler } from "@modelcontextprotocol/node";
import { Server as ServerV1 } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport as TransportV1 } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { createMcpHandler, Server, SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/server";
import { afterEach, describe, expect, it } from "vitest";
import { joinCall, outgoingCallHeaders, runInCallScope } from "#kit/propagation/index.js";
import { toConnectError } from "../errors.js";
import { testSession, testSubject } from "../testing/test-session.js";
import type { McpTokenSource } from "../token/mcp-token-source.js";
import { listReuseMs, type McpSession } from "./mcp-session.js";
import { MODERN_REVISION, ServerEra, type VersionPolicy, versionPolicy } from "./server-era.js";

/**
 * The gateway's MCP client against real SDK v2 servers on loopback (docs/mcp-gateway.md, "Protocol
 * revisions"): one on SDK v2 that speaks 2026-07-28 and the 2025 family, and one on SDK 1.x (stateless,
 * as 2025 servers in the field run) that speaks only the 2025 family.
 * Each records the methods it was sent, the `_meta` and the bearer token of every tools/call.
 */
interface Upstream {
  readonly url: URL;
  readonly methods: string[];
  readonly calls: { token: string | null; meta: Record<string, unknown> | undefined }[];
  close(): Promise<void>;
}

const upstreams: Upstream[] = [];
afterEach(async () => {
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
});

async function startUpstream(revisions: "both" | "2025 only", toolsListTtlMs = 0): Promise<Upstream> {
  const methods: string[] = [];
  const calls: Upstream["calls"] = [];
  const serve = revisions === "both" ? serveBoth(calls, toolsListTtlMs) : serve2025Only(calls);
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined;
    for (const m of Array.isArray(body) ? body : body ? [body] : []) {
      if (typeof m.method === "string") methods.push(m.method);
    }
    await serve(req, res, body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const upstream: Upstream = {
    url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`),
    methods,
    calls,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  upstreams.push(upstream);
  return upstream;
}

type Calls = Upstream["calls"];
type Serve = (req: http.IncomingMessage, res: http.ServerResponse, body: unknown) => Promise<void>;

function serveBoth(calls: Calls, toolsListTtlMs: number): Serve {
  const factory = () => {
    const server = new Server(
      { name: "upstream", version: "1.0.0" },
      {
        capabilities: { tools: {} },
        supportedProtocolVersions: [MODERN_REVISION, ...SUPPORTED_PROTOCOL_VERSIONS],
        cacheHints: {
          "server/discover": { ttlMs: 60_000, cacheScope: "public" },
          "tools/list": { ttlMs: toolsListTtlMs, cacheScope: "private" },
        },
      },
    );
    server.setRequestHandler("tools/list", () => ({
      tools: [{ name: "echo", inputSchema: { type: "object" as const } }],
    }));
    server.setRequestHandler("tools/call", (request, ctx) => {
      calls.push({ token: ctx.http?.req?.headers.get("authorization") ?? null, meta: request.params._meta });
      return { content: [{ type: "text" as const, text: "ok" }] };
    });
    return server;
  };
  return toNodeHandler(createMcpHandler(factory));
}

function serve2025Only(calls: Calls): Serve {
  return async (req, res, body) => {
    const server = new ServerV1({ name: "upstream-2025", version: "1.0.0" }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, () => ({
      tools: [{ name: "echo", inputSchema: { type: "object" as const } }],
    }));
    server.setRequestHandler(CallToolRequestSchema, (request) => {
      calls.push({ token: req.headers.authorization ?? null, meta: request.params._meta });
      return { content: [{ type: "text" as const, text: "ok" }] };
    });
    const transport = new TransportV1({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on("close", () => void server.close());
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };
}

const tokens: McpTokenSource = {
  mode: "exchange",
  exchanges: 0,
  tokenFor: async (subject) => `token-of-${subject.principal.userId}`,
  dropSession: () => 0,
};

function sessionFor(userId: string, upstream: Upstream, policy: VersionPolicy, era: ServerEra): McpSession {
  return testSession(userId, upstream.url, tokens, { policy, era });
}

/** A tools/call inside a call of our own, as a Connect handler runs it: with a W3C trace. */
function callInTrace(session: McpSession): Promise<{ traceparent: string | undefined }> {
  return runInCallScope(async () => {
    joinCall(() => undefined, "test");
    const traceparent = outgoingCallHeaders().traceparent;
    await session.callTool("echo", {}, { idempotent: true });
    return { traceparent };
  });
}

describe("the gateway's MCP client", () => {
  it("auto: speaks 2026-07-28, probes server/discover once for every principal, keeps each one's token, and carries the trace in _meta", async () => {
    const upstream = await startUpstream("both");
    const era = new ServerEra();
    const alice = sessionFor("alice", upstream, versionPolicy("auto"), era);
    const bob = sessionFor("bob", upstream, versionPolicy("auto"), era);
    const first = await callInTrace(alice);
    await callInTrace(bob);
    await callInTrace(alice);
    expect(upstream.methods.filter((m) => m === "server/discover")).toHaveLength(1);
    expect(upstream.methods).not.toContain("initialize");
    expect(upstream.calls.map((c) => c.token)).toEqual([
      "Bearer token-of-alice",
      "Bearer token-of-bob",
      "Bearer token-of-alice",
    ]);
    expect(upstream.calls[0]?.meta?.traceparent).toBe(first.traceparent);
    expect(upstream.calls[0]?.meta?.["io.modelcontextprotocol/protocolVersion"]).toBeUndefined();
    await Promise.all([alice.close(), bob.close()]);
  });

  it("auto: fifty principals connecting at once probe server/discover once", async () => {
    const upstream = await startUpstream("both");
    const era = new ServerEra();
    const sessions = Array.from({ length: 50 }, (_, i) =>
      sessionFor(`user-${i}`, upstream, versionPolicy("auto"), era),
    );
    await Promise.all(sessions.map((s) => callInTrace(s)));
    expect(upstream.methods.filter((m) => m === "server/discover")).toHaveLength(1);
    expect(upstream.calls).toHaveLength(50);
    expect(new Set(upstream.calls.map((c) => c.token)).size).toBe(50);
    await Promise.all(sessions.map((s) => s.close()));
  });

  it("auto: falls back to the 2025 family where 2026-07-28 is not offered, and remembers it", async () => {
    const upstream = await startUpstream("2025 only");
    const era = new ServerEra();
    await callInTrace(sessionFor("alice", upstream, versionPolicy("auto"), era));
    await callInTrace(sessionFor("bob", upstream, versionPolicy("auto"), era));
    expect(upstream.methods.filter((m) => m === "server/discover")).toHaveLength(1);
    expect(upstream.methods.filter((m) => m === "initialize")).toHaveLength(2);
    expect(upstream.calls).toHaveLength(2);
  });

  it("pinned to 2025-11-25 (MCP_PROTOCOL_VERSION): never probes, initializes with that revision", async () => {
    const upstream = await startUpstream("both");
    await callInTrace(sessionFor("alice", upstream, versionPolicy("2025-11-25"), new ServerEra()));
    expect(upstream.methods).not.toContain("server/discover");
    expect(upstream.methods[0]).toBe("initialize");
  });

  it("pinned to 2026-07-28 against a server without it: unavailable, naming the setting", async () => {
    const upstream = await startUpstream("2025 only");
    const session = sessionFor("alice", upstream, versionPolicy(MODERN_REVISION), new ServerEra());
    const failure = await session.callTool("echo", {}, { idempotent: true }).catch((e: unknown) => e);
    const ce = toConnectError(failure);
    expect(ce.code).toBe(14); // Code.Unavailable
    expect(ce.rawMessage).toMatch(/MCP_PROTOCOL_VERSION/);
    expect(upstream.calls).toHaveLength(0);
  });

  // 2026-07-28's `ttlMs` on tools/list: the session holds a principal's list that long from when
  // it asked; each principal has its own session, so a list made for one is never offered to
  // another (docs/mcp-gateway.md, "Tool lists").
  it("keeps a principal's tools/list for the ttlMs the server gave it (2026-07-28), for that principal only, and says what is left of it", async () => {
    // A lifetime a busy 2-core machine cannot overrun between two calls (400 ms was overrun once
    // inside a whole CI run beside another stack, and the list was rightly asked again).
    const TTL_MS = 3_000;
    const upstream = await startUpstream("both", TTL_MS);
    const era = new ServerEra();
    const alice = sessionFor("alice", upstream, versionPolicy("auto"), era);
    const bob = sessionFor("bob", upstream, versionPolicy("auto"), era);
    const lists = () => upstream.methods.filter((m) => m === "tools/list").length;
    const before = Date.now();
    const first = await alice.listTools();
    expect(first.tools.map((t) => t.name)).toEqual(["echo"]);
    expect(first.freshUntil).toBeGreaterThanOrEqual(before + TTL_MS);
    expect(first.freshUntil).toBeLessThanOrEqual(Date.now() + TTL_MS);
    const again = await alice.listTools();
    expect(again).toBe(first); // the same list, not asked again
    expect(lists()).toBe(1);
    await bob.listTools(); // another principal: never alice's list
    expect(lists()).toBe(2);
    await new Promise((r) => setTimeout(r, first.freshUntil - Date.now() + 200));
    const later = await alice.listTools(); // its lifetime is over: asked again
    expect(lists()).toBe(3);
    expect(later).not.toBe(first);
    await Promise.all([alice.close(), bob.close()]);
  });

  it("asks again when the principal's scopes change (a token narrowed on refresh), or the session was closed", async () => {
    const upstream = await startUpstream("both", 60_000);
    const alice = sessionFor("alice", upstream, versionPolicy("auto"), new ServerEra());
    const lists = () => upstream.methods.filter((m) => m === "tools/list").length;
    await alice.listTools();
    await alice.listTools();
    expect(lists()).toBe(1);
    const narrowed = { ...testSubject("alice"), scopes: ["tickets:read"] };
    alice.updateSubject(narrowed);
    await alice.listTools();
    expect(lists()).toBe(2);
    alice.updateSubject({ ...narrowed, scopes: ["tickets:read"] }); // the same scopes: kept
    await alice.listTools();
    expect(lists()).toBe(2);
    await alice.close();
    await alice.listTools();
    expect(lists()).toBe(3);
    await alice.close();
  });

  it("holds no list that was being asked for when it was let go (a new connection, new scopes, a refusal)", async () => {
    const upstream = await startUpstream("both", 60_000);
    const alice = sessionFor("alice", upstream, versionPolicy("auto"), new ServerEra());
    const lists = () => upstream.methods.filter((m) => m === "tools/list").length;
    const asking = alice.listTools();
    alice.forgetTools();
    const answered = await asking;
    expect(answered.tools.map((t) => t.name)).toEqual(["echo"]);
    expect(answered.freshUntil).toBeLessThanOrEqual(Date.now()); // not to be reused
    await alice.listTools();
    expect(lists()).toBe(2);
    await alice.listTools(); // this one was held
    expect(lists()).toBe(2);
    await alice.close();
  });

  it("reuses a list for whole milliseconds of the server's ttlMs, at most five minutes, and not at all for nonsense", () => {
    expect(listReuseMs(1500.5)).toBe(1500);
    expect(listReuseMs(60_000)).toBe(60_000);
    expect(listReuseMs(10 ** 12)).toBe(300_000);
    expect(listReuseMs(Number.POSITIVE_INFINITY)).toBe(300_000);
    for (const nonsense of [0, -1, Number.NaN, "60000", undefined, null])
      expect(listReuseMs(nonsense)).toBe(0);
  });

  it("asks for tools/list every time when the server gives it no lifetime (ttlMs 0, or the 2025 family), and says it may not be reused", async () => {
    for (const upstream of [await startUpstream("both", 0), await startUpstream("2025 only")]) {
      const alice = sessionFor("alice", upstream, versionPolicy("auto"), new ServerEra());
      await alice.listTools();
      const second = await alice.listTools();
      expect(second.freshUntil).toBeLessThanOrEqual(Date.now());
      expect(upstream.methods.filter((m) => m === "tools/list")).toHaveLength(2);
      await alice.close();
    }
  });
});
