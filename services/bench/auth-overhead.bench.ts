import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createTokenVerifier } from "../kit/auth/index.js";
import { createLogger } from "../kit/log/index.js";
import { startServiceServer } from "../kit/server/index.js";
import { RelayService } from "../kit/testing/gen/supportext/relay/v1/relay_pb.js";
import { relayRoutes } from "../kit/testing/relay-service.js";
import { startTestIssuer } from "../kit/testing/test-issuer.js";
import { printRow, summarize } from "./stats.js";

const AUDIENCE = "support-ext-api";

/**
 * Brief §11: auth overhead per call = authenticated vs AUTH_DEV_ANONYMOUS on the same server path,
 * same run. Also the verifier alone: a first (uncached) ES256 verification and a repeat (cached).
 */
export async function benchAuthOverhead(iterations: number): Promise<void> {
  const issuer = await startTestIssuer({ audience: AUDIENCE });
  const verifier = createTokenVerifier({
    issuer: issuer.issuer,
    audience: AUDIENCE,
    keys: issuer.jwksUrl,
    cacheSize: 0,
  });
  const cachedVerifier = createTokenVerifier({
    issuer: issuer.issuer,
    audience: AUDIENCE,
    keys: issuer.jwksUrl,
  });

  // Verifier alone.
  const tokens = await Promise.all(
    Array.from({ length: iterations }, (_, i) => issuer.mint({ sub: `u${i}` })),
  );
  await verifier.verify(tokens[0] as string); // JWKS fetched once, outside the measurement
  const uncached: number[] = [];
  for (const t of tokens) {
    const s = performance.now();
    await verifier.verify(t);
    uncached.push(performance.now() - s);
  }
  const one = tokens[0] as string;
  await cachedVerifier.verify(one);
  const cached: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const s = performance.now();
    await cachedVerifier.verify(one);
    cached.push(performance.now() - s);
  }

  // Same server, same method: with a token vs. without one under AUTH_DEV_ANONYMOUS.
  const server = await startServiceServer({
    name: "bench",
    host: "127.0.0.1",
    port: 0,
    // "error": the per-call dev-anonymous warning would otherwise weigh on one arm only.
    logger: createLogger({ service: "bench", level: "error" }),
    routes: relayRoutes({ name: "C", forward: "explicit" }),
    auth: {
      verifier: createTokenVerifier({ issuer: issuer.issuer, audience: AUDIENCE, keys: issuer.jwksUrl }),
      devAnonymous: true,
    },
    corsOrigins: [],
  });
  const client = createClient(RelayService, createGrpcTransport({ baseUrl: server.url }));
  const headers = { authorization: `Bearer ${one}` };
  for (let i = 0; i < 500; i++) {
    await client.inspect({ nonce: "warm" }, { headers });
    await client.inspect({ nonce: "warm" });
  }
  const withToken: number[] = [];
  const anonymous: number[] = [];
  for (let i = 0; i < iterations; i++) {
    // Interleaved so both arms see the same machine state.
    let s = performance.now();
    await client.inspect({ nonce: "a" }, { headers });
    withToken.push(performance.now() - s);
    s = performance.now();
    await client.inspect({ nonce: "b" });
    anonymous.push(performance.now() - s);
  }
  await server.close();
  await issuer.close();

  console.log("\n## Auth overhead (docs/performance.md: p50 < 0.3 ms, p99 < 1 ms)");
  printRow("verify ES256, uncached (jose, key cached)", summarize(uncached));
  printRow("verify, repeat token (verified-token cache)", summarize(cached));
  const a = summarize(withToken);
  const b = summarize(anonymous);
  printRow("gRPC unary call, authenticated", a);
  printRow("gRPC unary call, AUTH_DEV_ANONYMOUS (no token)", b);
  console.log(
    `auth overhead per call: p50 ${(a.p50 - b.p50).toFixed(3)} ms, p99 ${(a.p99 - b.p99).toFixed(3)} ms (difference of percentiles)`,
  );
}
