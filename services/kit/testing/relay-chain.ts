import { createTokenVerifier } from "../auth/token-verifier.js";
import type { Logger } from "../log/logger.js";
import { type ServiceServer, startServiceServer } from "../server/service-server.js";
import { relayRoutes } from "./relay-service.js";
import { startTestIssuer, type TestIssuer } from "./test-issuer.js";

export const RELAY_AUDIENCE = "support-ext-api";

/** Three relay hops A → B → C on loopback ports, each verifying tokens from a real test issuer. */
export interface RelayChain {
  readonly issuer: TestIssuer;
  readonly a: ServiceServer;
  readonly b: ServiceServer;
  readonly c: ServiceServer;
  close(): Promise<void>;
}

export async function startRelayChain(
  logger: Logger,
  corsOrigins: readonly string[] = [],
  shutdownGraceMs = 1000,
): Promise<RelayChain> {
  const issuer = await startTestIssuer({ audience: RELAY_AUDIENCE });
  const verifier = () =>
    createTokenVerifier({ issuer: issuer.issuer, audience: RELAY_AUDIENCE, keys: issuer.jwksUrl });
  const start = (name: string, next: string | undefined, forward: "explicit" | "implicit") => {
    const hopLogger = logger.child({ hop: name });
    return startServiceServer({
      name,
      host: "127.0.0.1",
      port: 0,
      logger: hopLogger,
      routes: relayRoutes({ name, forward, logger: hopLogger, ...(next ? { next } : {}) }),
      auth: { verifier: verifier() },
      corsOrigins,
      shutdownGraceMs,
    });
  };
  const c = await start("C", undefined, "explicit");
  const b = await start("B", c.url, "explicit");
  const a = await start("A", b.url, "implicit");
  return {
    issuer,
    a,
    b,
    c,
    async close() {
      await Promise.all([a.close(), b.close(), c.close()]);
      await issuer.close();
    },
  };
}
