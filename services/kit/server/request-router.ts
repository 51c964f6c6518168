import { Health } from "#gen/grpc/health/v1/health_pb.js";
import type { Logger } from "../log/logger.js";
import { answerAnyOrigin } from "./cors.js";
import {
  findRoute,
  type HttpRequest,
  type HttpResponse,
  type HttpRouteHandler,
  type HttpRoutes,
  type RequestGuard,
  requestPath,
  routeParts,
} from "./http-routes.js";

/** What the port serves once the service is ready; undefined while it is still starting. */
export interface Serving {
  /** The kit's routes and the service's, by path. */
  readonly routes: HttpRoutes;
  readonly guard?: RequestGuard;
}

export interface RequestRouterParts {
  /** The kit's probes (`/healthz`, `/readyz`, `/metrics`): answered even while starting, never guarded. */
  readonly probes: HttpRoutes;
  /** CORS for the configured origins: true when it answered the request itself. */
  readonly cors: (req: HttpRequest, res: HttpResponse) => boolean;
  readonly connect: (req: HttpRequest, res: HttpResponse) => void;
  readonly serving: () => Serving | undefined;
  readonly logger: Logger;
}

// grpc.health.v1 is a probe too: an orchestrator's gRPC probe names the pod's address, which no
// Host allow-list holds, and a starting server must be able to say NOT_SERVING.
const GRPC_HEALTH_PREFIX = `/${Health.typeName}/`;

/**
 * Routes one request: the kit's probes; while starting, 503 with `Retry-After`; the service's
 * guard; then CORS by the route's policy (docs/architecture.md, "Browsers"), and the plain-HTTP
 * route for the path or else the Connect procedures.
 */
export function createRequestRouter(
  parts: RequestRouterParts,
): (req: HttpRequest, res: HttpResponse) => void {
  return (req, res) => {
    const path = requestPath(req);
    const probe = parts.probes[path] !== undefined || path.startsWith(GRPC_HEALTH_PREFIX);
    const serving = parts.serving();
    if (!probe && serving === undefined) return answerStarting(res);
    if (!probe && serving?.guard?.(req, res)) return;
    const route = findRoute(serving?.routes ?? parts.probes, path);
    const { handle, cors } = route ? routeParts(route) : { handle: undefined, cors: "configured" };
    if (cors === "configured" ? parts.cors(req, res) : cors === "any-origin" && answerAnyOrigin(req, res))
      return;
    if (handle) runRoute(handle, req, res, path, parts.logger);
    else parts.connect(req, res);
  };
}

function answerStarting(res: HttpResponse): void {
  // What `/readyz` says too (`starting`): a client should come back in a moment.
  res.writeHead(503, { "retry-after": "1" });
  res.end();
}

function runRoute(
  handle: HttpRouteHandler,
  req: HttpRequest,
  res: HttpResponse,
  path: string,
  logger: Logger,
): void {
  const fail = (err: unknown) => {
    logger.error({ err, path }, "http route failed");
    if (!res.headersSent) {
      res.writeHead(500, { "content-type": "application/json" });
    }
    res.end('{"error":"server_error"}');
  };
  try {
    Promise.resolve(handle(req, res)).catch(fail);
  } catch (err) {
    fail(err);
  }
}
