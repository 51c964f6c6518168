import type { IncomingMessage, ServerResponse } from "node:http";
import { context } from "@opentelemetry/api";
import { type ProtectedResourceMetadata, sendProtectedResourceMetadata } from "../../kit/auth/index.js";
import type { Logger } from "../../kit/log/index.js";
import { joinCall, nodeHeader, runInCallScope } from "../../kit/propagation/index.js";
import type { HealthService } from "../../kit/server/index.js";
import { answerHealthRoute, HEALTH_PATHS } from "../../kit/server/index.js";
import type { ServiceTelemetry } from "../../kit/telemetry/index.js";
import { joinHttpRequest, METRICS_PATH, metricsRoute } from "../../kit/telemetry/index.js";
import type { HostOriginGuard } from "./host-origin-guard.js";
import { RPC, sendJson, sendRpcError } from "./responses.js";

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

export interface RequestHandlerDeps {
  readonly logger: Logger;
  readonly guard: HostOriginGuard;
  readonly mcpPaths: ReadonlySet<string>;
  readonly handleMcp: RouteHandler;
  readonly metadataPaths: ReadonlySet<string>;
  readonly metadata: ProtectedResourceMetadata;
  readonly auditPath: string;
  /** What `/readyz` reports (the kit's `/healthz` and `/readyz`, as on every service's port). */
  readonly health: Pick<HealthService, "readiness">;
  readonly handleAudit: RouteHandler;
  /** Path prefix of the Connect services on this port (the audit RPC). */
  readonly rpcPrefix: string;
  readonly handleRpc: (req: IncomingMessage, res: ServerResponse) => void;
  /** The server's tracer and metrics: every request's scope holds it; `/metrics` serves its registry. */
  readonly telemetry: ServiceTelemetry;
}

/**
 * A header value bounded for the log: the logger scrubs every string field, and its JWT pattern is
 * quadratic on text like "eyJeyJ…", so an unauthenticated caller must not choose a 16 KB one.
 */
const forLog = (v: string | undefined) => (v !== undefined && v.length > 200 ? `${v.slice(0, 200)}…` : v);

/**
 * The node:http request listener. Opens the call scope around the whole request (so every log
 * line, tool handlers' included, carries trace_id, span_id, request_id and user_id), joins the
 * caller's W3C trace in a server span, checks Host/Origin, and routes; `/healthz`, `/readyz` and
 * `/metrics` are answered first.
 */
export function createRequestHandler(deps: RequestHandlerDeps) {
  const { logger, guard, telemetry } = deps;
  const metrics = metricsRoute(telemetry.registry);
  return (req: IncomingMessage, res: ServerResponse): void => {
    if ((req.url ?? "/").startsWith(deps.rpcPrefix)) {
      // Connect calls: the kit's call-context interceptor joins the trace and takes the request
      // id itself, so the scope is opened bare, as the kit's server bootstrap does.
      runInCallScope(() => routeRpc(req, res), telemetry);
      return;
    }
    void runInCallScope(async () => {
      const url = new URL(req.url ?? "/", "http://localhost");
      const path = url.pathname;
      // The kit's one propagation core, as for Connect calls: trace joined (a server span for the
      // request, named by its route and, on /mcp, by its MCP method), request id taken or made.
      // Probes and scrapers get ids but no span.
      const probe = HEALTH_PATHS.has(path) || path === METRICS_PATH;
      const route = deps.mcpPaths.has(path)
        ? "/mcp"
        : path === deps.auditPath || deps.metadataPaths.has(path)
          ? path
          : "other";
      const procedure = `${req.method ?? "GET"} ${forLog(path)}`;
      const { trace: call, requestId } = probe
        ? joinCall(nodeHeader(req.headers), procedure, { record: false })
        : joinHttpRequest(req, res, route, procedure);
      res.setHeader("x-request-id", requestId);
      const started = performance.now();
      try {
        // Before the Host check: an orchestrator's probe names the pod's address, which no allow-list
        // holds, and these answers carry nothing a rebinding page could use (health-routes.ts).
        if (answerHealthRoute(deps.health, req, res)) return;
        if (path === METRICS_PATH) return await metrics(req, res);
        await context.with(call.context, () => serve(url));
      } catch (err) {
        logger.error({ err, path: forLog(url.pathname) }, "request failed");
        if (!res.headersSent) sendRpcError(res, 500, -32603, "Internal error");
        else res.end();
      } finally {
        logger.debug(
          {
            method: req.method,
            path: forLog(url.pathname),
            status: res.statusCode,
            duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
          },
          "http request",
        );
      }
    }, telemetry);

    async function serve(url: URL): Promise<void> {
      const hostError = guard.checkHost(req.headers.host);
      if (hostError) {
        logger.warn(
          { host: forLog(req.headers.host), path: forLog(url.pathname) },
          "request refused: Host not allowed",
        );
        sendRpcError(res, 403, RPC.forbidden, hostError);
        return;
      }
      if (deps.mcpPaths.has(url.pathname)) {
        const originError = guard.checkOrigin(req.headers.origin);
        if (originError) {
          logger.warn({ origin: forLog(req.headers.origin) }, "request refused: Origin not allowed");
          sendRpcError(res, 403, RPC.forbidden, originError);
          return;
        }
        await deps.handleMcp(req, res, url);
      } else if (deps.metadataPaths.has(url.pathname) && (req.method === "GET" || req.method === "HEAD")) {
        sendProtectedResourceMetadata(res, deps.metadata);
      } else if (url.pathname === deps.auditPath) {
        const originError = guard.checkOrigin(req.headers.origin);
        if (originError) {
          sendJson(res, 403, { error: "forbidden", error_description: originError });
          return;
        }
        await deps.handleAudit(req, res, url);
      } else {
        sendJson(res, 404, { error: "not_found", error_description: `no route for ${url.pathname}` });
      }
    }
  };

  /** The same Host and Origin checks as every other route (DNS rebinding), then Connect. */
  function routeRpc(req: IncomingMessage, res: ServerResponse): void {
    const refusal = guard.checkHost(req.headers.host) ?? guard.checkOrigin(req.headers.origin);
    if (refusal) {
      logger.warn({ path: forLog((req.url ?? "/").split("?")[0]) }, `request refused: ${refusal}`);
      sendJson(res, 403, { code: "permission_denied", message: refusal });
      return;
    }
    deps.handleRpc(req, res);
  }
}
