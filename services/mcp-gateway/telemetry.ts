import { ProtocolError, SdkError, SdkErrorCode, SdkHttpError } from "@modelcontextprotocol/client";
import { context, SpanKind, trace } from "@opentelemetry/api";
import { Counter, Gauge, Histogram } from "prom-client";
import { callAttributes, currentTelemetry, endSpan } from "#kit/propagation/index.js";
import { DURATION_BUCKETS, type ServiceTelemetry, tracerFor } from "#kit/telemetry/index.js";

/**
 * The gateway's own telemetry (docs/architecture.md, "Telemetry"): a client span and RED metrics
 * per MCP request it makes, and how its exchanged-token cache answers.
 */
export interface GatewayMetrics {
  /** MCP requests to the MCP server by method and outcome (`ok`, `tool_error`, `input_required`, `http_<status>`, …). */
  readonly mcpRequests: Counter<"method" | "code">;
  readonly mcpSeconds: Histogram<"method">;
  /** Exchanged-token cache lookups: `hit`, `miss` (an exchange is made), `shared` (joins one running). */
  readonly exchangeCache: Counter<"result">;
}

export function gatewayMetrics(t: ServiceTelemetry): GatewayMetrics {
  return {
    mcpRequests: t.metric(
      "mcp_client_requests_total",
      (r) =>
        new Counter({
          name: "mcp_client_requests_total",
          help: "MCP requests the gateway made to the MCP server, by method and outcome code (ok, tool_error, input_required, http_<status>, jsonrpc_<code>, timeout, transport)",
          labelNames: ["method", "code"],
          registers: [r],
        }),
    ),
    mcpSeconds: t.metric(
      "mcp_client_request_seconds",
      (r) =>
        new Histogram({
          name: "mcp_client_request_seconds",
          help: "Duration of the gateway's MCP requests (connecting and one retry included), by method",
          labelNames: ["method"],
          buckets: DURATION_BUCKETS,
          registers: [r],
        }),
    ),
    exchangeCache: t.metric(
      "token_exchange_cache_lookups_total",
      (r) =>
        new Counter({
          name: "token_exchange_cache_lookups_total",
          help: "Lookups of the gateway's exchanged-token cache: hit, miss (an RFC 8693 exchange is made) or shared (waits for an exchange already running)",
          labelNames: ["result"],
          registers: [r],
        }),
    ),
  };
}

const sessionCounts = new WeakMap<ServiceTelemetry, { read: () => number }>();

/**
 * Registers the gateway's series at start (at 0, so a scrape sees them before the first call); the
 * session gauge reads the pool of the gateway started last in this process.
 */
export function registerGatewayMetrics(t: ServiceTelemetry, openSessions: () => number): void {
  const m = gatewayMetrics(t);
  for (const result of ["hit", "miss", "shared"]) m.exchangeCache.inc({ result }, 0);
  const source = sessionCounts.get(t) ?? { read: openSessions };
  source.read = openSessions;
  sessionCounts.set(t, source);
  t.metric(
    "mcp_client_sessions_open",
    (r) =>
      new Gauge({
        name: "mcp_client_sessions_open",
        help: "MCP clients the gateway holds, one per principal (login session × agent)",
        registers: [r],
        collect() {
          this.set(source.read());
        },
      }),
  );
}

/** What a tools/call or tools/list answered, as a metric code. */
function outcomeOf(result: unknown): string {
  if (typeof result !== "object" || result === null) return "ok";
  if ((result as { isError?: unknown }).isError === true) return "tool_error";
  if ((result as { resultType?: unknown }).resultType === "input_required") return "input_required";
  return "ok";
}

function errorCode(err: unknown): string {
  if (err instanceof SdkHttpError) return `http_${err.status}`;
  if (err instanceof ProtocolError) return `jsonrpc_${err.code}`;
  if (err instanceof SdkError && err.code === SdkErrorCode.RequestTimeout) return "timeout";
  if (err instanceof Error && err.name === "AbortError") return "canceled";
  return "transport";
}

/**
 * One MCP request as the gateway makes it (`tools/list`, `tools/call <tool>`): a client span
 * (its context is what the request's `traceparent` header and `_meta` carry) and its metrics.
 */
export async function mcpClientRequest<T>(
  method: string,
  toolName: string | undefined,
  run: () => Promise<T>,
): Promise<T> {
  // The model chose the name: bounded in the span (and never a metric label).
  const tool = toolName && toolName.length > 100 ? `${toolName.slice(0, 100)}…` : toolName;
  const telemetry = currentTelemetry();
  const span = tracerFor(telemetry?.service).startSpan(tool ? `${method} ${tool}` : method, {
    kind: SpanKind.CLIENT,
    attributes: {
      "mcp.method.name": method,
      ...(tool ? { "gen_ai.tool.name": tool } : {}),
      ...callAttributes(),
    },
  });
  const metrics = telemetry ? gatewayMetrics(telemetry) : undefined;
  const started = performance.now();
  const finish = (code: string) => {
    span.setAttribute("support_ext.mcp.outcome", code);
    endSpan(span, code === "ok" || code === "tool_error" || code === "input_required" ? undefined : code);
    metrics?.mcpRequests.inc({ method, code });
    metrics?.mcpSeconds.observe({ method }, (performance.now() - started) / 1000);
  };
  try {
    const result = await context.with(trace.setSpan(context.active(), span), run);
    finish(outcomeOf(result));
    return result;
  } catch (err) {
    finish(errorCode(err));
    throw err;
  }
}
