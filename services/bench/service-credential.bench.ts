import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { ServiceCredentials } from "../kit/auth/index.js";
import { createServiceTokenVerifier, createTokenVerifier, RenewingTokenCache } from "../kit/auth/index.js";
import { createLogger } from "../kit/log/index.js";
import { createServiceCredentialInterceptor } from "../kit/propagation/index.js";
import { startServiceServer } from "../kit/server/index.js";
import { RelayService } from "../kit/testing/gen/supportext/relay/v1/relay_pb.js";
import { relayRoutes } from "../kit/testing/relay-service.js";
import { startTestIssuer } from "../kit/testing/test-issuer.js";
import { printRow, summarize } from "./stats.js";

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
  // The holder's side exactly as in production: a renewing cache in front of the token endpoint.
  const cache = new RenewingTokenCache();
  const credentials: ServiceCredentials = {
    clientId: "caller",
    tokenFor: (audience, agent) =>
      cache.get(`${audience}\n${agent ?? ""}`, async () => ({
        token: await mintServiceToken(),
        expiresAt: Date.now() + 300_000,
      })),
  };
  await credentials.tokenFor(HOP);
  const holder: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const s = performance.now();
    await credentials.tokenFor(HOP);
    holder.push(performance.now() - s);
  }

  const serviceVerifier = createServiceTokenVerifier({
    issuer: issuer.issuer,
    audience: HOP,
    keys: issuer.jwksUrl,
  });
  const serviceToken = await credentials.tokenFor(HOP);
  await serviceVerifier.verify(serviceToken);
  const callee: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const s = performance.now();
    await serviceVerifier.verify(serviceToken);
    callee.push(performance.now() - s);
  }

  // One server, two procedures' worth of rules: Inspect needs the caller's credential,
  // InspectStream is not used; the comparison server serves users directly.
  const logger = createLogger({ service: "bench", level: "error" });
  const userVerifier = createTokenVerifier({
    issuer: issuer.issuer,
    audience: AUDIENCE,
    keys: issuer.jwksUrl,
  });
  const withRule = await startServiceServer({
    name: "bench-service-credential",
    host: "127.0.0.1",
    port: 0,
    logger,
    routes: relayRoutes({ name: "C", forward: "explicit" }),
    auth: {
      verifier: userVerifier,
      callers: {
        verifier: serviceVerifier,
        rules: { [RelayService.typeName]: { services: ["caller"], user: "required" } },
      },
    },
    corsOrigins: [],
  });
  const usersOnly = await startServiceServer({
    name: "bench-users-only",
    host: "127.0.0.1",
    port: 0,
    logger,
    routes: relayRoutes({ name: "C", forward: "explicit" }),
    auth: { verifier: userVerifier },
    corsOrigins: [],
  });
  const userToken = await issuer.mint({ sub: "u1" });
  const headers = { authorization: `Bearer ${userToken}` };
  const withCredential: Interceptor = createServiceCredentialInterceptor(credentials, HOP);
  const a = createClient(
    RelayService,
    createGrpcTransport({ baseUrl: withRule.url, interceptors: [withCredential] }),
  );
  const b = createClient(RelayService, createGrpcTransport({ baseUrl: usersOnly.url }));
  for (let i = 0; i < 500; i++) {
    await a.inspect({ nonce: "warm" }, { headers });
    await b.inspect({ nonce: "warm" }, { headers });
  }
  const armA: number[] = [];
  const armB: number[] = [];
  for (let i = 0; i < iterations; i++) {
    let s = performance.now();
    await a.inspect({ nonce: "a" }, { headers });
    armA.push(performance.now() - s);
    s = performance.now();
    await b.inspect({ nonce: "b" }, { headers });
    armB.push(performance.now() - s);
  }
  await withRule.close();
  await usersOnly.close();
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
