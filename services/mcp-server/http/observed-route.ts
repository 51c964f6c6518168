import type { IncomingMessage, ServerResponse } from "node:http";
import { context } from "@opentelemetry/api";
import type { Logger } from "#kit/log/index.js";
import { joinHttpRequest } from "#kit/propagation/index.js";
import type { HttpRequest, HttpResponse, HttpRouteHandler } from "#kit/server/index.js";
import { forLog } from "./for-log.js";
import { sendRpcError } from "./responses.js";

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

/**
 * A route of this server as the kit serves it: joined to the caller's W3C trace in a server span
 * named after `route` (on `/mcp`, renamed after its MCP method once the body is read), the request
 * id taken or made and echoed, one debug line per request, and a failure answered as a JSON-RPC
 * internal error without its text. The kit opened the call scope around the request already.
 */
export function observedRoute(route: string, handle: RouteHandler, logger: Logger): HttpRouteHandler {
  return (req, res) => observe(route, handle, logger, req, res);
}

async function observe(
  route: string,
  handle: RouteHandler,
  logger: Logger,
  req: HttpRequest,
  res: HttpResponse,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  const path = forLog(url.pathname);
  const { trace: call, requestId } = joinHttpRequest(req, res, route, `${req.method ?? "GET"} ${path}`);
  res.setHeader("x-request-id", requestId);
  const started = performance.now();
  try {
    // HTTP/2's compatibility request and response stand in for HTTP/1.1's: the MCP SDK's Node
    // transport reads headers, the body stream and `:authority`, and writes through them alike.
    await context.with(call.context, () =>
      handle(req as IncomingMessage, res as unknown as ServerResponse, url),
    );
  } catch (err) {
    logger.error({ err, path }, "request failed");
    if (!res.headersSent) sendRpcError(res, 500, -32603, "Internal error");
    else res.end();
  } finally {
    const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
    logger.debug(
      { method: req.method, path, status: res.statusCode, duration_ms: durationMs },
      "http request",
    );
  }
}
