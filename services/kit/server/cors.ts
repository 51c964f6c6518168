import type * as http from "node:http";
import type * as http2 from "node:http2";
import { cors as connectCors } from "@connectrpc/connect";

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

// Connect's own lists, plus what the product adds: the bearer token, trace context and request id.
const ALLOWED_HEADERS = [...connectCors.allowedHeaders, "Authorization", "Traceparent", "X-Request-Id", "X-Agent-Id"];
const EXPOSED_HEADERS = [...connectCors.exposedHeaders, "X-Request-Id", "WWW-Authenticate"];
const METHODS = [...connectCors.allowedMethods, "OPTIONS"];

/**
 * CORS for the extension's configured origins (never `*`). Returns true when it answered the
 * request itself (a preflight). Origins not in the list get no CORS headers, so browsers refuse.
 */
export function createCorsHandler(origins: readonly string[]): (req: Req, res: Res) => boolean {
  const allowed = new Set(origins.map((o) => o.toLowerCase()));
  return (req, res) => {
    const origin = req.headers.origin;
    const permitted = typeof origin === "string" && allowed.has(origin.toLowerCase());
    const isPreflight = req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
    if (permitted) {
      res.setHeader("Access-Control-Allow-Origin", origin);
      res.setHeader("Vary", "Origin");
      res.setHeader("Access-Control-Expose-Headers", EXPOSED_HEADERS.join(", "));
    }
    if (!isPreflight) return false;
    if (permitted) {
      res.setHeader("Access-Control-Allow-Methods", METHODS.join(", "));
      res.setHeader("Access-Control-Allow-Headers", ALLOWED_HEADERS.join(", "));
      res.setHeader("Access-Control-Max-Age", "7200");
    }
    res.writeHead(permitted ? 204 : 403);
    res.end();
    return true;
  };
}
