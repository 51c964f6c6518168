import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { DescService } from "@bufbuild/protobuf";
import { type ConnectRouter, createContextValues, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createCleanRpcInput } from "../input/clean-rpc-input.js";
import type { TextRule } from "../input/clean-text.js";
import type { Logger } from "../log/logger.js";
import { runInCallScope } from "../propagation/call-scope.js";
import { kPeerAddress } from "../propagation/context-keys.js";
import {
  type AuthInterceptorOptions,
  createAuthInterceptor,
  createCallContextInterceptor,
} from "../propagation/server-interceptors.js";
import { METRICS_PATH, metricsRoute } from "../telemetry/metrics-route.js";
import { type ServiceTelemetry, serviceTelemetry } from "../telemetry/service-telemetry.js";
import { answerAnyOrigin, createCorsHandler } from "./cors.js";
import { type Dependency, followDependencies } from "./dependency.js";
import { createHealth, type HealthService, ServingStatus } from "./health.js";
import { HEALTH_PATHS, healthRoutes } from "./health-routes.js";
import { malformedMessageIsInvalidArgument, malformedStreamMessages } from "./malformed-message.js";
import { listenOnePort } from "./one-port-listener.js";
import { registerReflection } from "./reflection.js";

export type HttpRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type HttpResponse = http.ServerResponse | http2.Http2ServerResponse;
/** The handler of a plain-HTTP route served on the same port (e.g. `/.well-known/jwks.json`). */
export type HttpRouteHandler = (req: HttpRequest, res: HttpResponse) => void | Promise<void>;
/**
 * Which browser origins may use a plain-HTTP route (docs/architecture.md, "Browsers"):
 * - `configured`: the service's CORS_ORIGINS, as for its RPCs (a bare handler means this);
 * - `any-origin`: public documents and OAuth endpoints that browser-based clients on any origin
 *   call (metadata, JWKS, token, registration): `Access-Control-Allow-Origin: *`, never cookies;
 * - `own-pages`: reached by navigation from the service's own pages (the login form's POST, whose
 *   Origin Chromium sends as `null` under some referrer policies): the route checks it itself;
 * - `route-answers`: a protocol library that answers CORS itself, per endpoint (the OAuth
 *   authorization server: oidc-provider, docs/identity.md).
 */
export type RouteCors = "configured" | "any-origin" | "own-pages" | "route-answers";
export type HttpRoute = HttpRouteHandler | { readonly handle: HttpRouteHandler; readonly cors: RouteCors };

/** `handle` served to browsers on any origin (see RouteCors). */
export const anyOrigin = (handle: HttpRouteHandler): HttpRoute => ({ handle, cors: "any-origin" });
/** `handle` reached by the service's own pages only; it checks Origin itself (see RouteCors). */
export const ownPages = (handle: HttpRouteHandler): HttpRoute => ({ handle, cors: "own-pages" });
/** `handle` answers CORS itself (see RouteCors). */
export const routeAnswersCors = (handle: HttpRouteHandler): HttpRoute => ({ handle, cors: "route-answers" });

/**
 * The route for `path`: an exact key, or the longest key ending in `/*` that `path` starts with
 * (a mounted application serving a tree of paths, e.g. `/oauth2/*`).
 */
export function findRoute(routes: Readonly<Record<string, HttpRoute>>, path: string): HttpRoute | undefined {
  const exact = routes[path];
  if (exact) return exact;
  let best: string | undefined;
  for (const key of Object.keys(routes)) {
    if (!key.endsWith("/*")) continue;
    const prefix = key.slice(0, -1);
    if (path.startsWith(prefix) && (best === undefined || key.length > best.length)) best = key;
  }
  return best === undefined ? undefined : routes[best];
}

export interface ServiceServerOptions {
  /** Service name for logs and health. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly logger: Logger;
  /** Registers the service implementations. */
  readonly routes: (router: ConnectRouter) => void;
  /** Token verification for every call (minus reflection/health and public procedures). */
  readonly auth: Omit<AuthInterceptorOptions, "logger">;
  readonly corsOrigins: readonly string[];
  /**
   * Extra plain-HTTP routes by exact path, or by prefix with a key ending in `/*` (`/healthz` and
   * `/readyz` are the kit's own).
   */
  readonly httpRoutes?: Readonly<Record<string, HttpRoute>>;
  /**
   * What the service needs to serve (its database, the revocation feed, signing keys): while one
   * is down, `grpc.health.v1` reads NOT_SERVING and `/readyz` answers 503 naming it. Each has
   * reported once before the port opens, so the first probe already hears the truth.
   */
  readonly dependencies?: readonly Dependency[];
  /**
   * The rule every string field of every request message is held to (docs/architecture.md, "Input
   * text"); default: no control character but TAB, LF and CR, well-formed Unicode.
   */
  readonly textRule?: TextRule;
  /** Interceptors that run after authentication and the text rule (innermost). */
  readonly interceptors?: readonly Interceptor[];
  readonly shutdownGraceMs?: number;
  /** HTTP/2 sessions without an open stream for this long are closed (default 2 min). */
  readonly h2IdleTimeoutMs?: number;
  /**
   * The service's tracer and metrics (default: `serviceTelemetry(name)`); its registry is served
   * at `/metrics` (docs/architecture.md, "Telemetry").
   */
  readonly telemetry?: ServiceTelemetry;
}

export interface ServiceServer {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly port: number;
  readonly health: HealthService;
  /** Graceful stop: health NOT_SERVING, no new connections, in-flight calls finish (bounded). */
  close(): Promise<void>;
}

const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * The one server bootstrap every Connect service uses: Connect, gRPC and gRPC-Web on one port over
 * HTTP/1.1 and h2c, gRPC reflection (v1 and v1alpha) and grpc.health.v1 (both exempt from auth),
 * `/healthz` and `/readyz` over plain HTTP (from that same health registry), `/metrics`, CORS for configured
 * origins, the call-context, auth and input-text interceptors, an AsyncLocalStorage call scope
 * opened around the whole request handler, and graceful close.
 */
export async function startServiceServer(options: ServiceServerOptions): Promise<ServiceServer> {
  const { logger } = options;
  const clash = Object.keys(options.httpRoutes ?? {}).filter(
    (path) => HEALTH_PATHS.has(path) || path === METRICS_PATH,
  );
  if (clash.length > 0) throw new Error(`${clash.join(", ")}: served by the kit for every service`);
  const telemetry = options.telemetry ?? serviceTelemetry(options.name);
  const health = createHealth();
  const stopFollowing = await followDependencies(health, options.dependencies ?? [], logger);
  const routes = (router: ConnectRouter) => {
    options.routes(router);
    for (const s of uniqueServices(router)) health.setStatus(s.typeName, ServingStatus.SERVING);
    health.register(router);
    // Reflection describes what it is given: every service on this port, health included.
    registerReflection(router, uniqueServices(router));
    router.handlers.forEach((handler, i) => {
      router.handlers[i] = malformedMessageIsInvalidArgument(handler);
    });
  };
  const connectHandler = connectNodeAdapter({
    routes,
    interceptors: [
      malformedStreamMessages,
      createCallContextInterceptor(logger),
      createAuthInterceptor({ ...options.auth, logger }),
      // After authentication: an anonymous caller learns nothing about the message's checks.
      createCleanRpcInput(options.textRule),
      ...(options.interceptors ?? []),
    ],
    contextValues: (req) => createContextValues().set(kPeerAddress, req.socket?.remoteAddress),
    readMaxBytes: MAX_MESSAGE_BYTES,
    writeMaxBytes: MAX_MESSAGE_BYTES,
    fallback(_req, res) {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found\n");
    },
  });
  const cors = createCorsHandler(options.corsOrigins);
  // Probes and scrapers carry no token and no Origin: plain routes, outside the Connect interceptors.
  const httpRoutes: Readonly<Record<string, HttpRoute>> = {
    ...healthRoutes(health),
    [METRICS_PATH]: metricsRoute(telemetry.registry),
    ...options.httpRoutes,
  };

  const listener = await listenOnePort(
    options.host,
    options.port,
    (req, res) =>
      runInCallScope(() => {
        const path = (req.url ?? "/").split("?")[0] ?? "/";
        const route = findRoute(httpRoutes, path);
        const policy: RouteCors =
          route === undefined || typeof route === "function" ? "configured" : route.cors;
        if (policy === "configured" ? cors(req, res) : policy === "any-origin" && answerAnyOrigin(req, res))
          return;
        if (route) {
          const handle = typeof route === "function" ? route : route.handle;
          Promise.resolve(handle(req, res)).catch((err: unknown) => {
            logger.error({ err, path }, "http route failed");
            if (!res.headersSent) {
              res.writeHead(500, { "content-type": "application/json" });
            }
            res.end('{"error":"server_error"}');
          });
          return;
        }
        connectHandler(req as http.IncomingMessage, res as http.ServerResponse);
      }, telemetry),
    { h2IdleTimeoutMs: options.h2IdleTimeoutMs },
  ).catch((err: unknown) => {
    stopFollowing(); // a port already taken, say: no probe keeps running for a server that never was
    throw err;
  });
  const url = `http://${listener.host.includes(":") ? `[${listener.host}]` : listener.host}:${listener.port}`;
  logger.info({ url }, `${options.name} listening (Connect, gRPC, gRPC-Web; HTTP/1.1 and h2c)`);

  let closing: Promise<void> | undefined;
  return {
    url,
    port: listener.port,
    health,
    close() {
      closing ??= (async () => {
        health.shutdown();
        stopFollowing();
        await listener.close(options.shutdownGraceMs ?? 10_000);
        logger.info(`${options.name} stopped`);
      })();
      return closing;
    },
  };
}

function uniqueServices(router: ConnectRouter): DescService[] {
  const seen = new Map<string, DescService>();
  for (const h of router.handlers) seen.set(h.service.typeName, h.service);
  return [...seen.values()];
}
