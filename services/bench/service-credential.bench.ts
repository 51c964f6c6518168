import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { ServiceCredentials, ServiceTokenVerifier } from "#kit/auth/index.js";
import { createServiceTokenVerifier, createTokenVerifier, RenewingTokenCache } from "#kit/auth/index.js";
import { createLogger } from "#kit/log/index.js";
import { createServiceCredentialInterceptor } from "#kit/propagation/index.js";
import { startServiceServer } from "#kit/server/index.js";
import { RelayService } from "#kit/testing/gen/supportext/relay/v1/relay_pb.js";
import { relayRoutes } from "#kit/testing/relay-service.js";
import { startTestIssuer, type TestIssuer } from "#kit/testing/test-issuer.js";
import { printRow, summarize } from "./stats.js";
import { timeRepeated, timeTwoArms } from "./timing.js";

const AUDIENCE = "support-ext-api";
const HOP = "relay-hop";

/**
 * The added cost of the calling service's credential per hop, cached (target p50 ≤
 * 0.05 ms). Three figures: the holder's cached `tokenFor` (what the client interceptor does per
 * call), the callee's cached verification, and a whole gRPC call to a server whose rule requires
 * the credential against the same server path serving the user alone — interleaved, same run.
 */
export async function benchServiceCredential(iterations: number): Promise<void> {
  const issuer = await startTestIssuer({ audience: AUDIENCE });
  const credentials = cachedCredentials(issuer);
  await credentials.tokenFor(HOP);
  const holder = await timeRepeated(iterations, () => credentials.tokenFor(HOP));

  const serviceVerifier = createServiceTokenVerifier({
    issuer: issuer.issuer,
    audience: HOP,
    keys: issuer.jwksUrl,
  });
  const serviceToken = await credentials.tokenFor(HOP);
  await serviceVerifier.verify(serviceToken);
  const callee = await timeRepeated(iterations, () => serviceVerifier.verify(serviceToken));

  const [armA, armB] = await timeHop(issuer, credentials, serviceVerifier, iterations);
  await issuer.close();

  console.log("\n## Service credential per hop (cached, target p50 ≤ 0.05 ms)");
  printRow("holder: tokenFor(audience), cached", summarize(holder));
  printRow("callee: verify service token, cached", summarize(callee));
  const sa = summarize(armA);
  const sb = summarize(armB);
  printRow("gRPC unary call, user token + service credential", sa);
  printRow("gRPC unary call, user token only", sb);
  console.log(
    `added cost per hop: p50 ${(sa.p50 - sb.p50).toFixed(3)} ms, p99 ${(sa.p99 - sb.p99).toFixed(3)} ms (difference of percentiles; one more header on the wire)`,
  );
}

/** The holder's side exactly as in production: a renewing cache in front of the token endpoint. */
function cachedCredentials(issuer: TestIssuer): ServiceCredentials {
  const mintServiceToken = () =>
    issuer.mint({
      aud: HOP,
      sub: "caller",
      client_id: "caller",
      sid: undefined,
      email: undefined,
      roles: undefined,
      scope: undefined,
    });
  const cache = new RenewingTokenCache();
  return {
    clientId: "caller",
    tokenFor: (audience, agent) =>
      cache.get(`${audience}\n${agent ?? ""}`, async () => ({
        token: await mintServiceToken(),
        expiresAt: Date.now() + 300_000,
      })),
    forget: (audience, agent, token) => cache.forget(`${audience}\n${agent ?? ""}`, token),
  };
}

/**
 * A whole call with the service credential against one without, interleaved. One server, two
 * procedures' worth of rules: Inspect needs the caller's credential, InspectStream is not used; the
 * comparison server serves users directly.
 */
async function timeHop(
  issuer: TestIssuer,
  credentials: ServiceCredentials,
  serviceVerifier: ServiceTokenVerifier,
  iterations: number,
): Promise<[number[], number[]]> {
  const logger = createLogger({ service: "bench", level: "error" });
  const userVerifier = createTokenVerifier({
    issuer: issuer.issuer,
    audience: AUDIENCE,
    keys: issuer.jwksUrl,
  });
  const relay = { host: "127.0.0.1", port: 0, logger, corsOrigins: [] };
  const withRule = await startServiceServer({
    name: "bench-service-credential",
    ...relay,
    routes: relayRoutes({ name: "C", forward: "explicit" }),
    auth: {
      verifier: userVerifier,
      callers: {
        verifier: serviceVerifier,
        rules: { [RelayService.typeName]: { services: ["caller"], user: "required" } },
      },
    },
  });
  const usersOnly = await startServiceServer({
    name: "bench-users-only",
    ...relay,
    routes: relayRoutes({ name: "C", forward: "explicit" }),
    auth: { verifier: userVerifier },
  });
  const headers = { authorization: `Bearer ${await issuer.mint({ sub: "u1" })}` };
  const withCredential: Interceptor = createServiceCredentialInterceptor(credentials, HOP);
  const a = createClient(
    RelayService,
    createGrpcTransport({ baseUrl: withRule.url, interceptors: [withCredential] }),
  );
  const b = createClient(RelayService, createGrpcTransport({ baseUrl: usersOnly.url }));
  const times = await timeTwoArms(
    iterations,
    (nonce) => a.inspect({ nonce }, { headers }),
    (nonce) => b.inspect({ nonce }, { headers }),
  );
  await withRule.close();
  await usersOnly.close();
  return times;
}
