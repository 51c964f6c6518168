import type { Logger } from "../log/logger.js";
import type { Dependency } from "../server/dependency.js";
import { type ServiceServer, startServiceServer } from "../server/service-server.js";

/**
 * A kit service server with no routes of its own and every token refused: what its probes
 * (`/healthz`, `/readyz`, `grpc.health.v1`) answer over `dependencies`, none of which needs a token.
 */
export function startProbeServer(
  name: string,
  logger: Logger,
  dependencies: readonly Dependency[],
): Promise<ServiceServer> {
  return startServiceServer({
    name,
    host: "127.0.0.1",
    port: 0,
    logger,
    routes: () => undefined,
    auth: { verifier: { verify: () => Promise.reject(new Error("no tokens here")) } },
    corsOrigins: [],
    dependencies,
    shutdownGraceMs: 1000,
  });
}
