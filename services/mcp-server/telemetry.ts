import type { IncomingMessage, ServerResponse } from "node:http";
import { context, type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { Counter, Gauge, Histogram } from "prom-client";
import { callAttributes, currentCallScope } from "#kit/propagation/index.js";
import { DURATION_BUCKETS, type ServiceTelemetry, tracerFor } from "#kit/telemetry/index.js";
import type { AuditRecorder } from "./audit/audit-recorder.js";
import type { AuditEntry } from "./data/audit-log.js";
import type { ToolRunner } from "./mcp/tool-runner.js";

/**
 * The MCP server's own telemetry (docs/architecture.md, "Telemetry"): RED per MCP method, tool
 * calls by tool and outcome (counted as their audit rows are written: exactly one per call), open
 * 2025 sessions; spans for each MCP request (the HTTP request's server span, named after its MCP
 * method), each tool run and each audit write. Labels are bounded: a tool the catalog does not
 * hold is `unknown`, a method the protocol does not define is `other`.
 */
/** Which tool names are the catalog's (the others are labelled `unknown`: a caller chose them). */
export type KnownTools = Pick<ReadonlySet<string>, "has">;

export interface McpServerMetrics {
  readonly requests: Counter<"method" | "status">;
  readonly seconds: Histogram<"method">;
  readonly toolCalls: Counter<"tool" | "outcome" | "error_code">;
  readonly toolSeconds: Histogram<"tool">;
}

export function mcpServerMetrics(t: ServiceTelemetry): McpServerMetrics {
  return {
    requests: t.metric(
      "mcp_server_requests_total",
      (r) =>
        new Counter({
          name: "mcp_server_requests_total",
          help: "Authenticated MCP requests, by JSON-RPC method (GET: the SSE stream, DELETE: a session's end, batch) and HTTP status",
          labelNames: ["method", "status"],
          registers: [r],
        }),
    ),
    seconds: t.metric(
      "mcp_server_request_seconds",
      (r) =>
        new Histogram({
          name: "mcp_server_request_seconds",
          help: "MCP request duration from its body read to its response's end, by method",
          labelNames: ["method"],
          buckets: DURATION_BUCKETS,
          registers: [r],
        }),
    ),
    toolCalls: t.metric(
      "mcp_tool_calls_total",
      (r) =>
        new Counter({
          name: "mcp_tool_calls_total",
          help: "tools/call decisions, each counted as its audit row is written: by tool, outcome (ok, error, refused) and error code",
          labelNames: ["tool", "outcome", "error_code"],
          registers: [r],
        }),
    ),
    toolSeconds: t.metric(
      "mcp_tool_call_seconds",
      (r) =>
        new Histogram({
          name: "mcp_tool_call_seconds",
          help: "tools/call duration as audited, by tool",
          labelNames: ["tool"],
          buckets: DURATION_BUCKETS,
          registers: [r],
        }),
    ),
  };
}

const sessionCounts = new WeakMap<ServiceTelemetry, { read: () => number }>();

/**
 * Registers the MCP server's series at start: the session gauge reads the registry of the server
 * started last (a server restarted in the same process, as in tests, replaces the one before).
 */
export function registerMcpServerMetrics(t: ServiceTelemetry, openSessions: () => number): void {
  mcpServerMetrics(t);
  const source = sessionCounts.get(t) ?? { read: openSessions };
  source.read = openSessions;
  sessionCounts.set(t, source);
  t.metric(
    "mcp_sessions_open",
    (r) =>
      new Gauge({
        name: "mcp_sessions_open",
        help: "MCP sessions open (2025 revisions; 2026-07-28 requests hold none)",
        registers: [r],
        collect() {
          this.set(source.read());
        },
      }),
  );
}

const METHODS: ReadonlySet<string> = new Set([
  "initialize",
  "ping",
  "server/discover",
  "tools/list",
  "tools/call",
  "resources/list",
  "resources/read",
  "resources/templates/list",
  "prompts/list",
  "prompts/get",
  "completion/complete",
  "logging/setLevel",
  "notifications/initialized",
  "notifications/cancelled",
  "notifications/progress",
  "notifications/roots/list_changed",
]);

function methodOf(
  httpMethod: string,
  body: unknown,
): { method: string; tool?: string; id?: string | number } {
  if (httpMethod === "GET") return { method: "GET" };
  if (httpMethod === "DELETE") return { method: "DELETE" };
  if (Array.isArray(body)) return { method: "batch" };
  if (typeof body !== "object" || body === null) return { method: "other" };
  const m = body as { method?: unknown; id?: unknown; params?: { name?: unknown } };
  if (typeof m.method !== "string") return { method: m.id !== undefined ? "response" : "other" };
  const method = METHODS.has(m.method) ? m.method : "other";
  const tool = method === "tools/call" && typeof m.params?.name === "string" ? m.params.name : undefined;
  const id = typeof m.id === "string" || typeof m.id === "number" ? m.id : undefined;
  return { method, ...(tool ? { tool } : {}), ...(id !== undefined ? { id } : {}) };
}

/**
 * An authenticated MCP request, once its body is read: its server span takes the MCP method's
 * name ("tools/call list_tickets"), and it is counted when its
 * response ends. `tools` bounds the tool label.
 */
export function observeMcpRequest(
  telemetry: ServiceTelemetry | undefined,
  tools: KnownTools,
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
  sessionId: string | undefined,
): void {
  const { method, tool, id } = methodOf(req.method ?? "GET", body);
  const shownTool = tool === undefined ? undefined : tools.has(tool) ? tool : "unknown";
  const span = trace.getActiveSpan();
  span?.updateName(shownTool ? `${method} ${shownTool}` : method);
  span?.setAttributes({
    "mcp.method.name": method,
    ...(shownTool ? { "gen_ai.tool.name": shownTool } : {}),
    ...(sessionId ? { "mcp.session.id": sessionId } : {}),
    ...(id !== undefined ? { "jsonrpc.request.id": String(id) } : {}),
    ...callAttributes(),
  });
  if (!telemetry) return;
  const metrics = mcpServerMetrics(telemetry);
  const started = performance.now();
  res.once("close", () => {
    metrics.requests.inc({ method, status: String(res.statusCode) });
    metrics.seconds.observe({ method }, (performance.now() - started) / 1000);
  });
}

/** An `execute_tool <tool>` span around every tool run (docs/architecture.md, "Telemetry"). */
export function withToolSpans(run: ToolRunner, tools: KnownTools): ToolRunner {
  return async (name, rawArguments, extra) => {
    const tool = tools.has(name) ? name : "unknown";
    const span = tracerFor(currentCallScope()?.telemetry?.service).startSpan(`execute_tool ${tool}`, {
      kind: SpanKind.INTERNAL,
      attributes: { "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool, ...callAttributes() },
    });
    try {
      const result = await context.with(trace.setSpan(context.active(), span), () =>
        run(name, rawArguments, extra),
      );
      if ((result as { isError?: unknown }).isError === true)
        span.setAttribute("support_ext.tool.error", true);
      return result;
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: "tool call failed" });
      throw err;
    } finally {
      span.end();
    }
  };
}

/**
 * The audit recorder with an `audit.record` span per row written (in the trace the row stores) and
 * the tool-call metrics, counted as the row is written — for a row appended within a change's
 * transaction, once that commits (a refused append is counted once: as the failure it becomes).
 */
export function withAuditTelemetry(
  audit: AuditRecorder,
  telemetry: ServiceTelemetry,
  tools: KnownTools,
): AuditRecorder {
  const metrics = mcpServerMetrics(telemetry);
  const known = (entry: AuditEntry) => (tools.has(entry.tool) ? entry.tool : "unknown");
  const startSpan = (entry: AuditEntry) =>
    tracerFor(telemetry.service).startSpan("audit.record", {
      kind: SpanKind.INTERNAL,
      attributes: {
        "gen_ai.tool.name": known(entry),
        "support_ext.audit.outcome": entry.outcome,
        ...(entry.errorCode ? { "support_ext.audit.error_code": entry.errorCode } : {}),
        ...callAttributes(),
      },
    });
  const failed = (span: Span) =>
    span.setStatus({ code: SpanStatusCode.ERROR, message: "audit row not written" });
  const count = (entry: AuditEntry) => {
    const errorCode =
      entry.errorCode && /^[a-z_]{1,40}$/.test(entry.errorCode)
        ? entry.errorCode
        : entry.errorCode
          ? "other"
          : "";
    metrics.toolCalls.inc({ tool: known(entry), outcome: entry.outcome, error_code: errorCode });
    metrics.toolSeconds.observe({ tool: known(entry) }, entry.durationMs / 1000);
  };
  return {
    async record(entry) {
      const span = startSpan(entry);
      try {
        await context.with(trace.setSpan(context.active(), span), () => audit.record(entry));
      } catch (err) {
        failed(span);
        throw err;
      } finally {
        span.end();
      }
      count(entry);
    },
    within(tx, entry) {
      // The span covers sending the row; the call is counted once the row has committed.
      const span = startSpan(entry);
      try {
        context.with(trace.setSpan(context.active(), span), () => audit.within(tx, entry));
      } catch (err) {
        failed(span);
        throw err;
      } finally {
        span.end();
      }
      tx.afterCommit(() => count(entry));
    },
  };
}
