import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import type { TextRule } from "../input/clean-text.js";
import type { Logger } from "../log/logger.js";
import { runInCallScope } from "../propagation/call-scope.js";
import type { AuthInterceptorOptions } from "../propagation/server-interceptors.js";
import { METRICS_PATH, metricsRoute } from "../telemetry/metrics-route.js";
import { type ServiceTelemetry, serviceTelemetry } from "../telemetry/service-telemetry.js";
import { createConnectHandler } from "./connect-handler.js";
import { createCorsHandler } from "./cors.js";
import { type Dependency, followDependencies } from "./dependency.js";
import { createHealth, type HealthService } from "./health.js";
import { HEALTH_PATHS, healthRoutes } from "./health-routes.js";
import type { HttpRouteHandler, HttpRoutes, RequestGuard } from "./http-routes.js";
import { listenOnePort, type OnePortListener } from "./one-port-listener.js";
import { createRequestRouter, type Serving } from "./request-router.js";

// The route types' home is http-routes.ts; re-exported here, where the kit's modules found them.
export {
  anyOrigin,
  findRoute,
  type HttpRequest,
  type HttpResponse,
  type HttpRoute,
  type HttpRouteHandler,
  type HttpRoutes,
  ownPages,
  type RequestGuard,
  type RouteCors,
  routeAnswersCors,
} from "./http-routes.js";

/** What a service serves beyond its Connect procedures; given at start, or once its port is open. */
export interface ServingAdditions {
  /**
   * Plain-HTTP routes by exact path, or by prefix with a key ending in `/*` (`/healthz`, `/readyz`
   * and `/metrics` are the kit's own).
   */
  readonly httpRoutes?: HttpRoutes;
  /**
   * Screens every request but the kit's probes (`/healthz`, `/readyz`, `/metrics`,
   * `grpc.health.v1`) before CORS and routing: a Host allow-list against DNS rebinding, say.
   */
  readonly guard?: RequestGuard;
  /**
   * What the service needs to serve (its database, the revocation feed, signing keys): while one
   * is down, `grpc.health.v1` reads NOT_SERVING and `/readyz` answers 503 naming it. Each has
   * reported once before the service serves, so the first probe already hears the truth.
   */
  readonly dependencies?: readonly Dependency[];
  /**
   * Called on close once the port stops accepting: ends what would otherwise hold the graceful
   * close for its whole grace period (open event streams, protocol sessions).
   */
  readonly drain?: () => Promise<void>;
}

export interface ServiceServerOptions extends ServingAdditions {
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
   * The rule every string field of every request message is held to (docs/architecture.md, "Input
   * text"); default: no control character but TAB, LF and CR, well-formed Unicode.
   */
  readonly textRule?: TextRule;
  /** Interceptors that run after authentication and the text rule (innermost). */
  readonly interceptors?: readonly Interceptor[];
  /** Bounds of one request message (default 64 KiB) and one response message (default 4 MiB). */
  readonly readMaxBytes?: number;
  readonly writeMaxBytes?: number;
  /** Answers a request no route and no procedure matches (default: 404 `not found`). */
  readonly notFound?: HttpRouteHandler;
  readonly shutdownGraceMs?: number;
  /** HTTP/2 sessions without an open stream for this long are closed (default 2 min). */
  readonly h2IdleTimeoutMs?: number;
  /** HTTP/2 streams whose request body is not complete this long after they opened are reset (default 30 s). */
  readonly h2RequestTimeoutMs?: number;
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

/** A port open before its service is ready (docs/architecture.md, "Health for orchestrators"). */
export interface OpeningServer {
  readonly url: string;
  /** The port bound (the configured one, or the one the system chose for port 0). */
  readonly port: number;
  readonly health: HealthService;
  /** Serves the service, with what it adds now that it knows its port; `starting` turns ready. */
  serve(additions?: ServingAdditions): Promise<ServiceServer>;
  /** Gives the port back without ever serving (start-up failed). */
  close(): Promise<void>;
}

/** What `/readyz` names while the port is open and the service not yet serving. */
export const STARTING = "starting";

/**
 * The one server bootstrap every service uses: Connect, gRPC and gRPC-Web on one port over
 * HTTP/1.1 and h2c, gRPC reflection (v1 and v1alpha) and grpc.health.v1 (both exempt from auth),
 * `/healthz` and `/readyz` over plain HTTP (from that same health registry), `/metrics`, CORS for
 * configured origins, the call-context, auth and input-text interceptors, an AsyncLocalStorage call
 * scope opened around the whole request handler, and graceful close.
 */
export async function startServiceServer(options: ServiceServerOptions): Promise<ServiceServer> {
  const opening = await openServiceServer(options);
  return opening.serve();
}

/**
 * Opens the service's port before the service can serve, for a service whose start-up needs the
 * bound port (a resource URI that names it when the configured port is 0, say). Until `serve`,
 * the port answers the kit's probes — `/readyz` 503 naming `starting` — and every other request
 * 503 with `Retry-After: 1`. `startServiceServer` is this, served at once.
 */
export async function openServiceServer(options: ServiceServerOptions): Promise<OpeningServer> {
  refuseKitPaths(options.httpRoutes);
  const telemetry = options.telemetry ?? serviceTelemetry(options.name);
  const health = createHealth();
  health.setDependency(STARTING, false);
  const stops = [await followDependencies(health, options.dependencies ?? [], options.logger)];
  const probes: HttpRoutes = { ...healthRoutes(health), [METRICS_PATH]: metricsRoute(telemetry.registry) };
  let serving: Serving | undefined;
  const router = createRequestRouter({
    probes,
    cors: createCorsHandler(options.corsOrigins),
    connect: createConnectHandler(options, health),
    serving: () => serving,
    logger: options.logger,
  });
  const listener = await listenOnePort(
    options.host,
    options.port,
    (req, res) => runInCallScope(() => router(req, res), telemetry),
    { h2IdleTimeoutMs: options.h2IdleTimeoutMs, h2RequestTimeoutMs: options.h2RequestTimeoutMs },
  ).catch((err: unknown) => {
    for (const stop of stops) stop(); // a port already taken, say: no probe runs for a server that never was
    throw err;
  });
  const url = `http://${listener.host.includes(":") ? `[${listener.host}]` : listener.host}:${listener.port}`;
  const stopAll = (drain?: () => Promise<void>) => closeServer(options, listener, health, stops, drain);
  return {
    url,
    port: listener.port,
    health,
    async serve(additions = {}) {
      refuseKitPaths(additions.httpRoutes);
      stops.push(await followDependencies(health, additions.dependencies ?? [], options.logger));
      const routes = { ...probes, ...options.httpRoutes, ...additions.httpRoutes };
      serving = { routes, guard: additions.guard ?? options.guard };
      health.setDependency(STARTING, true);
      options.logger.info({ url }, `${options.name} listening (Connect, gRPC, gRPC-Web; HTTP/1.1 and h2c)`);
      const drains = [options.drain, additions.drain].filter((d) => d !== undefined);
      let closing: Promise<void> | undefined;
      const close = () => {
        closing ??= stopAll(async () => void (await Promise.all(drains.map((drain) => drain()))));
        return closing;
      };
      return { url, port: listener.port, health, close };
    },
    close: () => stopAll(),
  };
}

function refuseKitPaths(routes: HttpRoutes | undefined): void {
  const clash = Object.keys(routes ?? {}).filter((path) => HEALTH_PATHS.has(path) || path === METRICS_PATH);
  if (clash.length > 0) throw new Error(`${clash.join(", ")}: served by the kit for every service`);
}

/** Health NOT_SERVING, no new connections, the service's drain, in-flight requests finish (bounded). */
async function closeServer(
  options: ServiceServerOptions,
  listener: OnePortListener,
  health: HealthService,
  stops: readonly (() => void)[],
  drain?: () => Promise<void>,
): Promise<void> {
  health.shutdown();
  for (const stop of stops) stop();
  const closed = listener.close(options.shutdownGraceMs ?? 10_000);
  await drain?.().catch((err: unknown) => options.logger.warn({ err }, `${options.name} drain failed`));
  await closed;
  options.logger.info(`${options.name} stopped`);
}
