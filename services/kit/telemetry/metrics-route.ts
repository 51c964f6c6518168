import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { Registry } from "prom-client";

/**
 * `/metrics` (docs/architecture.md, "Telemetry"): the service's Prometheus registry in the text
 * exposition format, on its own port beside `/healthz` and `/readyz`, without a token (scrapers
 * carry none). Counts and durations only: no user, session or token is ever a label.
 */
export const METRICS_PATH = "/metrics";

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

export function metricsRoute(registry: Registry): (req: Req, res: Res) => Promise<void> {
  return async (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      // RFC 9110 §15.5.6: a 405 names the methods the resource supports.
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" });
      res.end("method not allowed\n");
      return;
    }
    const body = await registry.metrics();
    // RFC 9111 §5.2.2.5: every scrape reads the values of now.
    res.writeHead(200, { "content-type": registry.contentType, "cache-control": "no-store" });
    if (req.method === "HEAD") res.end();
    else res.end(body);
  };
}
