// The module's public face: what the rest of the product uses of it (docs/architecture.md, "The kit").
export { checkedDependency, type Dependency, followDependencies } from "./dependency.js";
export { createHealth, type HealthService, onDraining, ServingStatus } from "./health.js";
export { HEALTH_PATHS } from "./health-routes.js";
export {
  anyOrigin,
  type HttpRequest,
  type HttpResponse,
  type HttpRoute,
  type HttpRouteHandler,
  type HttpRoutes,
  type RequestGuard,
  requestPath,
  routeAnswersCors,
} from "./http-routes.js";
export { malformedMessageIsInvalidArgument, malformedStreamMessages } from "./malformed-message.js";
export { reportMemory } from "./memory-report.js";
export {
  type OpeningServer,
  openServiceServer,
  type ServiceServer,
  type ServiceServerOptions,
  type ServingAdditions,
  STARTING,
  startServiceServer,
} from "./service-server.js";
export { stopOnSignals } from "./shutdown.js";
