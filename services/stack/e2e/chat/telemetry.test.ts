import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { SpanKind } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { ChatService } from "#gen/supportext/chat/v1/chat_pb.js";
import { addSpanProcessor } from "#kit/telemetry/index.js";
import { sample } from "#kit/testing/prometheus-sample.js";
import { type AgentTestStack, startAgentTestStack } from "../../testing/agent-test-stack.js";

/**
 * Telemetry over the whole real stack in one process (docs/architecture.md, "Telemetry"): one
 * in-memory exporter sees every service's spans, so one chat turn must be one trace — chat, agent,
 * gateway, the token exchange at the identity service, the MCP server, the tool run and the audit
 * write — whose id the audit row stores; and every service's `/metrics` shows the turn.
 */
const exporter = new InMemorySpanExporter();
const removeProcessor = addSpanProcessor(new SimpleSpanProcessor(exporter));
let stack: AgentTestStack;
let chat: ReturnType<typeof createClient<typeof ChatService>>;
let admin: Awaited<ReturnType<AgentTestStack["base"]["login"]>>;
let turnTrace = "";
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  stack = await startAgentTestStack({ LOG_LEVEL: "info" });
  chat = createClient(ChatService, createGrpcTransport({ baseUrl: stack.base.chat.url }));
  admin = await stack.base.login("admin@company.com", stack.base.passwords.admin);
  // Five services in one process: slow to start on a busy 2-core host.
}, 180_000);
afterAll(async () => {
  await stack?.close();
  removeProcessor();
});

const service = (s: ReadableSpan) => s.instrumentationScope.name;
const idOf = (s: ReadableSpan) => s.spanContext().spanId;
const kindName = (k: SpanKind) => SpanKind[k].toLowerCase();

/** The trace as an indented tree: name, service, kind, parent. */
function printTree(spans: readonly ReadableSpan[]): string {
  const byParent = new Map<string | undefined, ReadableSpan[]>();
  const ids = new Set(spans.map(idOf));
  for (const s of spans) {
    const parent = s.parentSpanContext?.spanId;
    const key = parent && ids.has(parent) ? parent : undefined;
    byParent.set(key, [...(byParent.get(key) ?? []), s]);
  }
  const start = (s: ReadableSpan) => s.startTime[0] * 1e9 + s.startTime[1];
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number, parentName: string) => {
    for (const s of [...(byParent.get(parent) ?? [])].sort((a, b) => start(a) - start(b))) {
      lines.push(
        `${"  ".repeat(depth)}${s.name}  [${service(s)}, ${kindName(s.kind)}; parent: ${parentName}]`,
      );
      walk(idOf(s), depth + 1, `${s.name} (${service(s)})`);
    }
  };
  walk(undefined, 0, "none");
  return lines.join("\n");
}

async function until<T>(what: string, read: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("one trace from a chat turn to the audit row", () => {
  it("chat → agent → gateway (→ token exchange at identity) → MCP server → tool run → audit write: one trace, the row's", async () => {
    const { thread } = await chat.createThread({ agentId: "support-assistant" }, bearer(admin.accessToken));
    exporter.reset();
    let answer = "";
    for await (const res of chat.streamMessage(
      { threadId: thread?.id ?? "", content: "show me open tickets" },
      bearer(admin.accessToken),
    )) {
      if (res.event.case === "assistantMessage") answer = res.event.value.content;
    }
    expect(answer).toContain("ticket");

    // The chat server span ends once its stream has: the trace's root.
    const root = await until("the StreamMessage span", () =>
      exporter
        .getFinishedSpans()
        .find((s) => s.name === "supportext.chat.v1.ChatService/StreamMessage" && s.kind === SpanKind.SERVER),
    );
    turnTrace = root.spanContext().traceId;
    const row = await stack.base.mcpDb.query<{ trace_id: string; tool: string; request_id: string }>(
      "SELECT trace_id, tool, request_id FROM audit_log WHERE outcome = 'ok' ORDER BY seq DESC LIMIT 1",
    );
    expect(row.rows[0]?.tool).toBe("list_tickets");
    expect(row.rows[0]?.trace_id).toBe(turnTrace);

    // Every span of the trace has ended: the audit write is the deepest.
    const spans = await until("the audit span", () => {
      const inTrace = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === turnTrace);
      return inTrace.some((s) => s.name === "audit.record") ? inTrace : undefined;
    });
    console.log(`span tree of trace ${turnTrace}:\n${printTree(spans)}`);

    expect(root.parentSpanContext).toBeUndefined();
    const ids = new Set(spans.map(idOf));
    // One tree: every span but the root hangs under another span of the trace.
    for (const s of spans) if (s !== root) expect(ids.has(s.parentSpanContext?.spanId ?? "")).toBe(true);
    expect(new Set(spans.map(service))).toEqual(
      new Set(["chat", "agent", "mcp-gateway", "identity", "mcp-server"]),
    );

    const find = (name: string, svc: string, kind: SpanKind) => {
      const s = spans.find((x) => x.name === name && service(x) === svc && x.kind === kind);
      if (!s) throw new Error(`no span ${name} of ${svc}`);
      return s;
    };
    const parentOf = (s: ReadableSpan) => spans.find((p) => idOf(p) === s.parentSpanContext?.spanId);
    const chain = [
      find("supportext.agent.v1.AgentService/Run", "chat", SpanKind.CLIENT),
      find("supportext.agent.v1.AgentService/Run", "agent", SpanKind.SERVER),
      find("supportext.mcpgateway.v1.McpGatewayService/CallTool", "agent", SpanKind.CLIENT),
      find("supportext.mcpgateway.v1.McpGatewayService/CallTool", "mcp-gateway", SpanKind.SERVER),
      find("tools/call list_tickets", "mcp-gateway", SpanKind.CLIENT),
      find("tools/call list_tickets", "mcp-server", SpanKind.SERVER),
      find("execute_tool list_tickets", "mcp-server", SpanKind.INTERNAL),
      find("audit.record", "mcp-server", SpanKind.INTERNAL),
    ];
    // Each hop is the child of the one before it: the W3C context crossed every process boundary.
    expect(parentOf(chain[0] as ReadableSpan)).toBe(root);
    for (let i = 1; i < chain.length; i++) expect(parentOf(chain[i] as ReadableSpan)).toBe(chain[i - 1]);
    // The first MCP request of the session exchanged the user's token: the identity service's
    // token endpoint span is the gateway's exchange span's child.
    const exchange = find("oauth2 token_exchange", "mcp-gateway", SpanKind.CLIENT);
    expect(parentOf(find("POST /oauth2/token", "identity", SpanKind.SERVER))).toBe(exchange);

    // Who, never what with: user, session, agent and tool; no token, no secret, no arguments.
    const mcp = chain[5] as ReadableSpan;
    expect(mcp.attributes).toMatchObject({
      "user.id": admin.userId,
      "session.id": admin.sessionId,
      "gen_ai.agent.id": "support-assistant",
      "gen_ai.tool.name": "list_tickets",
      "mcp.method.name": "tools/call",
    });
    expect((chain[1] as ReadableSpan).attributes).toMatchObject({
      "user.id": admin.userId,
      "support_ext.caller": "chat",
    });
    const everything = JSON.stringify(spans.map((s) => ({ n: s.name, a: s.attributes, st: s.status })));
    expect(everything).not.toContain(admin.accessToken.split(".")[2]);
    // A JWT's shape: a JSON header, a dot, a JSON payload. Not a bare "eyJ": a 43-character random
    // session id holds one now and then (CI met one), and no token is made of one segment.
    expect(everything).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
    expect(everything).not.toMatch(/bearer|secret|password|argument/i);

    // The log lines of the turn carry the trace and their span (here: the MCP server's tool line).
    const toolLine = stack.base.logs.mcp
      .records()
      .find((r) => r.trace_id === turnTrace && String(r.msg).startsWith("tool list_tickets"));
    expect(toolLine?.span_id).toBe(idOf(chain[6] as ReadableSpan));
    const chatLine = stack.base.logs.chat
      .records()
      .find((r) => r.trace_id === turnTrace && r.msg === "rpc ok");
    expect(chatLine?.span_id).toBe(idOf(root));
  }, 120_000);
});

async function scrape(baseUrl: string): Promise<string> {
  // No token: scrapers carry none.
  const res = await fetch(`${baseUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

describe("/metrics on every service after a turn", () => {
  it("shows the turn's RPCs, MCP requests, tool call, exchange cache, refusals, revocation lag and process figures", async () => {
    expect(turnTrace, "the trace test ran first").not.toBe("");
    // A refused call, for the refusal counter.
    await chat.listAgents({}, bearer("not-a-token")).catch(() => undefined);
    const base = stack.base;
    const urls = {
      chat: base.chat.url,
      agent: base.agent.url,
      "mcp-gateway": base.gateway.url,
      "mcp-server": base.mcp()?.url ?? "",
      identity: base.identity.url,
    };
    const text: Record<string, string> = {};
    for (const [name, url] of Object.entries(urls)) {
      text[name] = await scrape(url);
      // Every series names its service; the process figures are there and sane.
      expect(sample(text[name] ?? "", "process_resident_memory_bytes", { service: name })).toBeGreaterThan(
        1e6,
      );
      expect(sample(text[name] ?? "", "nodejs_heap_size_used_bytes", { service: name })).toBeGreaterThan(1e5);
      expect(sample(text[name] ?? "", "nodejs_eventloop_lag_seconds")).toBeGreaterThanOrEqual(0);
      // Five services' start-up compiles in this one process: its delay's p99 is large, but measured.
      expect(sample(text[name] ?? "", "nodejs_eventloop_lag_p99_seconds")).toBeGreaterThan(0);
    }
    const t = (name: keyof typeof urls) => text[name] ?? "";
    const streamProcedure = "supportext.chat.v1.ChatService/StreamMessage";
    const run = "supportext.agent.v1.AgentService/Run";
    const callTool = "supportext.mcpgateway.v1.McpGatewayService/CallTool";
    const excerpt = Object.entries(text).flatMap(([name, body]) =>
      body
        .split("\n")
        .filter(
          (l) =>
            !l.startsWith("#") &&
            !l.includes("_bucket{") &&
            /^(rpc_server_handled_total|rpc_client_handled_total|rpc_server_handling_seconds_(sum|count)|auth_refusals_total|token_exchange_cache_lookups_total|mcp_client_requests_total|mcp_server_requests_total|mcp_tool_calls_total|mcp_sessions_open|mcp_client_sessions_open|http_server_requests_total|rpc_server_streams_open|nodejs_eventloop_lag_seconds|process_resident_memory_bytes)/.test(
              l,
            ) &&
            !l.includes("grpc.health"),
        )
        .map((l) => `${name.padEnd(11)} ${l}`),
    );
    console.log(`/metrics excerpt after the turn:\n${excerpt.join("\n")}`);

    expect(
      sample(t("chat"), "rpc_server_handled_total", { procedure: streamProcedure, code: "ok" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(t("chat"), "rpc_server_handling_seconds_count", { procedure: streamProcedure }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(t("chat"), "rpc_server_handling_seconds_sum", { procedure: streamProcedure }),
    ).toBeGreaterThan(0);
    expect(sample(t("chat"), "rpc_server_streams_open", { procedure: streamProcedure })).toBe(0);
    expect(
      sample(t("chat"), "rpc_client_handled_total", { procedure: run, code: "ok" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(t("chat"), "auth_refusals_total", { credential: "user", reason: "malformed" }),
    ).toBeGreaterThanOrEqual(1);

    expect(
      sample(t("agent"), "rpc_server_handled_total", { procedure: run, code: "ok" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(t("agent"), "rpc_client_handled_total", { procedure: callTool, code: "ok" }),
    ).toBeGreaterThanOrEqual(1);

    expect(
      sample(t("mcp-gateway"), "rpc_server_handled_total", { procedure: callTool, code: "ok" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(t("mcp-gateway"), "mcp_client_requests_total", { method: "tools/call", code: "ok" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(t("mcp-gateway"), "mcp_client_request_seconds_count", { method: "tools/list" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(t("mcp-gateway"), "token_exchange_cache_lookups_total", { result: "miss" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(t("mcp-gateway"), "token_exchange_cache_lookups_total", { result: "hit" }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(t("mcp-gateway"), "mcp_client_sessions_open")).toBeGreaterThanOrEqual(1);

    expect(
      sample(t("mcp-server"), "mcp_server_requests_total", { method: "tools/call", status: "200" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(t("mcp-server"), "mcp_server_request_seconds_count", { method: "tools/list" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(t("mcp-server"), "mcp_tool_calls_total", { tool: "list_tickets", outcome: "ok" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(t("mcp-server"), "mcp_tool_call_seconds_count", { tool: "list_tickets" }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(t("mcp-server"), "http_server_requests_total", { route: "/mcp", method: "POST", status: "200" }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(t("mcp-server"), "mcp_sessions_open")).toBeGreaterThanOrEqual(0);

    expect(
      sample(t("identity"), "rpc_server_handled_total", {
        procedure: "supportext.auth.v1.AuthService/Login",
        code: "ok",
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(t("identity"), "http_server_requests_total", {
        route: "/oauth2/token",
        method: "POST",
        status: "200",
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sample(t("identity"), "rpc_server_streams_open", {
        procedure: "supportext.auth.v1.RevocationService/Watch",
      }),
    ).toBeGreaterThanOrEqual(4);

    // A logout reaches every hop on the feed: each one's lag is measured, and small on loopback.
    const auth = createClient(
      AuthService,
      createConnectTransport({ baseUrl: base.identity.url, httpVersion: "2" }),
    );
    await auth.logout({ refreshToken: admin.refreshToken });
    for (const [name, url] of Object.entries(urls)) {
      if (name === "identity") continue;
      const scraped = await until(`${name}'s revocation lag`, async () => {
        const body = await scrape(url);
        return (sample(body, "revocation_lag_seconds_count") ?? 0) >= 1 ? body : undefined;
      });
      const lag =
        (sample(scraped, "revocation_lag_seconds_sum") ?? 0) /
        (sample(scraped, "revocation_lag_seconds_count") ?? 1);
      expect(lag, `${name}'s revocation lag`).toBeGreaterThanOrEqual(0);
      expect(lag, `${name}'s revocation lag`).toBeLessThan(5);
    }
  }, 120_000);
});
