import type * as http from "node:http";
import type * as http2 from "node:http2";
import { cors as connectCors } from "@connectrpc/connect";

type Req = http.IncomingMessage | http2.Http2ServerRequest;
type Res = http.ServerResponse | http2.Http2ServerResponse;

// Connect's own lists, plus what the product adds: the bearer token, trace context and request id.
const ALLOWED_HEADERS = [
  ...connectCors.allowedHeaders,
  "Authorization",
  "Traceparent",
  "X-Request-Id",
  "X-Agent-Id",
];
// What a browser client reads: Connect's status headers, the request id, the refusal challenge
// (its `error_description` tells "expired, refresh" from "revoked, log in again", docs/identity.md)
// and how long a throttled login waits.
const EXPOSED_HEADERS = [...connectCors.exposedHeaders, "X-Request-Id", "WWW-Authenticate", "Retry-After"];
const METHODS = [...connectCors.allowedMethods, "OPTIONS"];
/** Chromium's ceiling for a cached preflight: one preflight per procedure every two hours. */
export const PREFLIGHT_MAX_AGE_SECONDS = 7200;

/**
 * CORS for the configured origins (the extension's `chrome-extension://<id>` and a development page;
 * never `*`). Returns true when it answered the request itself: every preflight, and any request
 * whose `Origin` is not allowed — refused with 403 before it reaches a handler, so a page elsewhere
 * can neither read an answer nor cause an effect. Requests without `Origin` (services, curl) pass.
 */
export function createCorsHandler(origins: readonly string[]): (req: Req, res: Res) => boolean {
  const allowed = new Set(origins.map((o) => o.toLowerCase()));
  return (req, res) => {
    const origin = req.headers.origin;
    if (typeof origin !== "string") return false;
    // The answer depends on the origin: shared caches must not hand one origin's answer to another.
    res.setHeader("Vary", "Origin");
    const permitted = allowed.has(origin.toLowerCase());
    const isPreflight =
      req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
    if (!permitted) {
      res.writeHead(403, { "content-type": "text/plain" });
      res.end(`origin ${origin} is not allowed (CORS_ORIGINS)\n`);
      return true;
    }
    res.setHeader("Access-Control-Allow-Origin", origin);
    res.setHeader("Access-Control-Expose-Headers", EXPOSED_HEADERS.join(", "));
    if (!isPreflight) return false;
    answerPreflight(req, res, METHODS, ALLOWED_HEADERS);
    return true;
  };
}

/** The 204 answer to an admitted preflight: what may be sent, for how long it is cached. */
function answerPreflight(req: Req, res: Res, methods: readonly string[], headers: readonly string[]): void {
  res.setHeader("Access-Control-Allow-Methods", methods.join(", "));
  res.setHeader("Access-Control-Allow-Headers", headers.join(", "));
  res.setHeader("Access-Control-Max-Age", String(PREFLIGHT_MAX_AGE_SECONDS));
  // Chromium asks before a page or extension reaches a loopback or private address (Private
  // Network Access): an admitted origin may, as the extension does against `npm start`.
  if (req.headers["access-control-request-private-network"] === "true") {
    res.setHeader("Access-Control-Allow-Private-Network", "true");
  }
  res.writeHead(204);
  res.end();
}

/**
 * CORS for a public route (RouteCors `any-origin`): any origin may read the answer, without
 * credentials (`*` never admits cookies). Answers a preflight itself (returns true); otherwise adds
 * the header and lets the route answer. Browser-based OAuth and MCP clients discover and call the
 * authorization server this way (RFC 8414 metadata, JWKS, token and registration endpoints).
 */
export function answerAnyOrigin(req: Req, res: Res): boolean {
  if (typeof req.headers.origin !== "string") return false;
  res.setHeader("Access-Control-Allow-Origin", "*");
  res.setHeader("Access-Control-Expose-Headers", "WWW-Authenticate, Retry-After, X-Request-Id");
  const isPreflight = req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
  if (!isPreflight) return false;
  answerPreflight(req, res, PUBLIC_METHODS, PUBLIC_ALLOWED_HEADERS);
  return true;
}

const PUBLIC_METHODS = ["GET", "HEAD", "POST", "OPTIONS"];

// What an OAuth client sends: client authentication, a JSON or form body, trace context, DPoP.
const PUBLIC_ALLOWED_HEADERS = [
  "Authorization",
  "Content-Type",
  "Traceparent",
  "X-Request-Id",
  "DPoP",
  "MCP-Protocol-Version",
];
