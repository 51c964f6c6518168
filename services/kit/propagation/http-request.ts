import type * as http from "node:http";
import type * as http2 from "node:http2";
import { Counter, Histogram } from "prom-client";
import { DURATION_BUCKETS, type ServiceTelemetry } from "../telemetry/service-telemetry.js";
import { callAttributes } from "./call-attributes.js";
import { currentCallScope } from "./call-scope.js";
import { endSpan, type JoinedCall, joinCall, nodeHeader } from "./join-call.js";

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

/** Plain-HTTP requests a service serves (OAuth endpoints, `/mcp`), by route, method and status. */
export function httpServerMetrics(t: ServiceTelemetry) {
  return {
    requests: t.metric(
      "http_server_requests_total",
      (r) =>
        new Counter({
          name: "http_server_requests_total",
          help: "Plain-HTTP requests served (OAuth endpoints, /mcp), by route, method and status",
          labelNames: ["route", "method", "status"],
          registers: [r],
        }),
    ),
    seconds: t.metric(
      "http_server_request_seconds",
      (r) =>
        new Histogram({
          name: "http_server_request_seconds",
          help: "Plain-HTTP request duration until the response closed, by route",
          labelNames: ["route"],
          buckets: DURATION_BUCKETS,
          registers: [r],
        }),
    ),
  };
}

/**
 * A plain-HTTP request joined to its caller's trace (`joinCall`) with a server span named
 * "<method> <route>" — `route` is a fixed route, never the path a caller sent — that ends, and is
 * counted, when the response closes. The caller serves the request inside `trace.context`.
 */
export function joinHttpRequest(req: Req, res: Res, route: string, procedure: string): JoinedCall {
  const method = req.method ?? "GET";
  const call = joinCall(nodeHeader(req.headers), procedure, {
    spanName: `${method} ${route}`,
    attributes: { "http.request.method": method, "http.route": route },
  });
  // Listeners run outside the request's async context: the scope is taken now (its principal is
  // filled in later, on the same object).
  const scope = currentCallScope();
  const metrics = scope?.telemetry ? httpServerMetrics(scope.telemetry) : undefined;
  const started = performance.now();
  res.once("close", () => {
    const status = res.statusCode;
    call.span.setAttributes({ "http.response.status_code": status, ...callAttributes(scope) });
    endSpan(call.span, status >= 500 ? String(status) : undefined);
    metrics?.requests.inc({ route, method, status: String(status) });
    metrics?.seconds.observe({ route }, (performance.now() - started) / 1000);
  });
  return call;
}
