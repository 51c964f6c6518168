import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createTokenVerifier } from "#kit/auth/index.js";
import { createLogger } from "#kit/log/index.js";
import { startServiceServer } from "#kit/server/index.js";
import { RelayService } from "#kit/testing/gen/supportext/relay/v1/relay_pb.js";
import { relayRoutes } from "#kit/testing/relay-service.js";
import { startTestIssuer, type TestIssuer } from "#kit/testing/test-issuer.js";
import { printRow, summarize } from "./stats.js";
import { timeRepeated, timeTwoArms } from "./timing.js";

const AUDIENCE = "support-ext-api";

/**
 * Brief §11: auth overhead per call = authenticated vs AUTH_DEV_ANONYMOUS on the same server path,
 * same run. Also the verifier alone: a first (uncached) ES256 verification and a repeat (cached).
 */
export async function benchAuthOverhead(iterations: number): Promise<void> {
  const issuer = await startTestIssuer({ audience: AUDIENCE });
  const tokens = await Promise.all(
    Array.from({ length: iterations }, (_, i) => issuer.mint({ sub: `u${i}` })),
  );
  const one = tokens[0] as string;
  const verifier = await timeVerifier(issuer, tokens);
  const [withToken, anonymous] = await timeCalls(issuer, one, iterations);
  await issuer.close();

  console.log("\n## Auth overhead (docs/performance.md: p50 < 0.3 ms, p99 < 1 ms)");
  printRow("verify ES256, uncached (jose, key cached)", summarize(verifier.uncached));
  printRow("verify, repeat token (verified-token cache)", summarize(verifier.cached));
  const a = summarize(withToken);
  const b = summarize(anonymous);
  printRow("gRPC unary call, authenticated", a);
  printRow("gRPC unary call, AUTH_DEV_ANONYMOUS (no token)", b);
  console.log(
    `auth overhead per call: p50 ${(a.p50 - b.p50).toFixed(3)} ms, p99 ${(a.p99 - b.p99).toFixed(3)} ms (difference of percentiles)`,
  );
}

/** The verifier alone: each token verified once without its cache, then the first one over and over. */
async function timeVerifier(
  issuer: TestIssuer,
  tokens: readonly string[],
): Promise<{ uncached: number[]; cached: number[] }> {
  const keys = { issuer: issuer.issuer, audience: AUDIENCE, keys: issuer.jwksUrl };
  const verifier = createTokenVerifier({ ...keys, cacheSize: 0 });
  const cachedVerifier = createTokenVerifier(keys);
  const one = tokens[0] as string;
  await verifier.verify(one); // JWKS fetched once, outside the measurement
  const uncached = await timeRepeated(tokens.length, (i) => verifier.verify(tokens[i] as string));
  await cachedVerifier.verify(one);
  const cached = await timeRepeated(tokens.length, () => cachedVerifier.verify(one));
  return { uncached, cached };
}

/** Same server, same method: with a token vs. without one under AUTH_DEV_ANONYMOUS. */
async function timeCalls(
  issuer: TestIssuer,
  token: string,
  iterations: number,
): Promise<[number[], number[]]> {
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
  const headers = { authorization: `Bearer ${token}` };
  const times = await timeTwoArms(
    iterations,
    (nonce) => client.inspect({ nonce }, { headers }),
    (nonce) => client.inspect({ nonce }),
  );
  await server.close();
  return times;
}
