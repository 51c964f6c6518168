import { execFile } from "node:child_process";
import * as http from "node:http";
import { promisify } from "node:util";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "#gen/grpc/health/v1/health_pb.js";
import { childEnv } from "../testing/child-env.js";
import { RelayService } from "../testing/gen/supportext/relay/v1/relay_pb.js";
import { captureLogs } from "../testing/log-capture.js";
import { type RelayChain, startRelayChain } from "../testing/relay-chain.js";

const exec = promisify(execFile);
const EXTENSION_ORIGIN = "chrome-extension://abcdefghijklmnopabcdefghijklmnop";
let chain: RelayChain;

beforeAll(async () => {
  chain = await startRelayChain(captureLogs("server").logger, [EXTENSION_ORIGIN]);
});
afterAll(async () => {
  await chain?.close();
});

/** Runs the repository's own `buf` (from node_modules) as a developer would. */
async function bufCurl(args: string[]): Promise<string> {
  const { stdout } = await exec("npx", ["--no-install", "buf", "curl", ...args], {
    timeout: 30_000,
    env: childEnv(),
  });
  return stdout;
}

function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${chain.a.url}${path}`, { method, headers }, (res) => {
      let data = "";
      res.on("data", (c: Buffer) => {
        data += c.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("service server bootstrap", () => {
  it("buf curl lists the services by gRPC reflection over h2c, without a token", async () => {
    const out = await bufCurl(["--http2-prior-knowledge", "--list-services", chain.a.url]);
    const services = out.trim().split("\n");
    expect(services).toContain("supportext.relay.v1.RelayService");
    expect(services).toContain("grpc.health.v1.Health");
    const methods = await bufCurl(["--http2-prior-knowledge", "--list-methods", chain.a.url]);
    expect(methods).toContain("supportext.relay.v1.RelayService/InspectStream");
  });

  it("buf curl calls a method over HTTP/1.1 (Connect JSON) with a bearer token", async () => {
    const token = await chain.issuer.mint({ sub: "buf-user" });
    const out = await bufCurl([
      "--schema",
      ".",
      "-H",
      `Authorization: Bearer ${token}`,
      "-d",
      '{"nonce":"from-buf"}',
      `${chain.a.url}/supportext.relay.v1.RelayService/Inspect`,
    ]);
    const res = JSON.parse(out) as { nonce: string; hops: { hop: string; userId: string }[] };
    expect(res.nonce).toBe("from-buf");
    expect(res.hops.map((h) => [h.hop, h.userId])).toEqual([
      ["A", "buf-user"],
      ["B", "buf-user"],
      ["C", "buf-user"],
    ]);
  });

  it("buf curl over gRPC with reflection, and without a token gets unauthenticated", async () => {
    const err = await bufCurl([
      "--http2-prior-knowledge",
      "--protocol",
      "grpc",
      "-d",
      '{"nonce":"x"}',
      `${chain.a.url}/supportext.relay.v1.RelayService/Inspect`,
    ]).catch((e: { stderr?: string }) => e.stderr ?? "");
    expect(err).toContain("unauthenticated");
    expect(err).toContain("missing_token");
  });

  it("serves grpc.health.v1 without a token", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: chain.a.url }));
    expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect((await health.check({ service: "supportext.relay.v1.RelayService" })).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
  });

  it("answers plain Connect JSON over HTTP/1.1 (what k6 and browsers send) with proper error codes", async () => {
    const res = await rawRequest(
      "POST",
      "/supportext.relay.v1.RelayService/Inspect",
      { "content-type": "application/json", "connect-protocol-version": "1" },
      '{"nonce":"raw"}',
    );
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ code: "unauthenticated" });
    expect(res.headers["www-authenticate"]).toBe("Bearer");
    expect(res.headers["x-request-id"]).toMatch(/.+/);
    const bad = await rawRequest(
      "POST",
      "/supportext.relay.v1.RelayService/Inspect",
      { "content-type": "application/json", authorization: "Bearer not.a.jwt" },
      '{"nonce":"raw"}',
    );
    expect(bad.status).toBe(401);
    expect(JSON.parse(bad.body).message).toMatch(/^malformed/);
    expect(bad.headers["www-authenticate"]).toContain('error="invalid_token"');
  });

  it("CORS: the configured extension origin may send Authorization; other origins get nothing", async () => {
    const preflight = (origin: string) =>
      rawRequest("OPTIONS", "/supportext.relay.v1.RelayService/Inspect", {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type,connect-protocol-version",
      });
    const ok = await preflight(EXTENSION_ORIGIN);
    expect(ok.status).toBe(204);
    expect(ok.headers["access-control-allow-origin"]).toBe(EXTENSION_ORIGIN);
    expect(String(ok.headers["access-control-allow-headers"]).toLowerCase()).toContain("authorization");
    const evil = await preflight("https://evil.example");
    expect(evil.status).toBe(403);
    expect(evil.headers["access-control-allow-origin"]).toBeUndefined();
    const token = await chain.issuer.mint({ sub: "cors-user" });
    const actual = await rawRequest(
      "POST",
      "/supportext.relay.v1.RelayService/Inspect",
      { origin: EXTENSION_ORIGIN, "content-type": "application/json", authorization: `Bearer ${token}` },
      "{}",
    );
    expect(actual.status).toBe(200);
    expect(actual.headers["access-control-allow-origin"]).toBe(EXTENSION_ORIGIN);
    expect(String(actual.headers["access-control-expose-headers"])).toContain("Grpc-Status");
  });

  it("unknown paths get 404, not a crash", async () => {
    expect((await rawRequest("GET", "/nope", {})).status).toBe(404);
  });
});

describe("graceful shutdown", () => {
  it("lets an in-flight stream finish, then refuses new calls", async () => {
    // A grace no busy machine runs out of (CI at load 10 did with 1 s): the stream must finish, not be cut.
    const local = await startRelayChain(captureLogs("shutdown").logger, [], 60_000);
    const token = await local.issuer.mint({ sub: "draining" });
    const client = createClient(
      RelayService,
      createConnectTransport({ baseUrl: local.a.url, httpVersion: "2" }),
    );
    const received: number[] = [];
    const stream = (async () => {
      for await (const m of client.inspectStream(
        { nonce: "d", count: 50 },
        { headers: { authorization: `Bearer ${token}` } },
      )) {
        received.push(m.index);
      }
    })();
    while (received.length === 0) await new Promise((r) => setTimeout(r, 5));
    const closing = local.a.close();
    await stream;
    await closing;
    expect(received).toHaveLength(50);
    const after = await createClient(
      RelayService,
      createConnectTransport({ baseUrl: local.a.url, httpVersion: "1.1" }),
    )
      .inspect({ nonce: "late" }, { headers: { authorization: `Bearer ${token}` } })
      .catch((e: unknown) => ConnectError.from(e));
    expect((after as ConnectError).code).toBe(Code.Unavailable);
    await local.close();
  });
});

describe("health Watch during shutdown", () => {
  it("close() ends an open Watch stream after NOT_SERVING instead of waiting out the grace", async () => {
    const local = await startRelayChain(captureLogs("watch").logger, [], 60_000);
    const health = createClient(Health, createGrpcTransport({ baseUrl: local.a.url }));
    const statuses: HealthCheckResponse_ServingStatus[] = [];
    const watching = (async () => {
      for await (const res of health.watch({ service: "" })) statuses.push(res.status);
      return "ended" as const;
    })();
    while (statuses.length === 0) await new Promise((r) => setTimeout(r, 5));
    // A 60 s grace: close() finishing well inside the test timeout means the Watch did not hold it.
    const bound = new Promise<"grace waited out">((r) =>
      setTimeout(() => r("grace waited out"), 20_000).unref(),
    );
    expect(await Promise.race([local.a.close().then(() => "closed" as const), bound])).toBe("closed");
    expect(await watching).toBe("ended");
    expect(statuses).toEqual([
      HealthCheckResponse_ServingStatus.SERVING,
      HealthCheckResponse_ServingStatus.NOT_SERVING,
    ]);
    await local.close();
  }, 30_000);
});

describe("peer address", () => {
  it("is handed to handlers in the call's context values", async () => {
    const { kPeerAddress } = await import("../propagation/context-keys.js");
    const { createTokenVerifier } = await import("../auth/token-verifier.js");
    const { startServiceServer } = await import("./service-server.js");
    const { startTestIssuer } = await import("../testing/test-issuer.js");
    const issuer = await startTestIssuer({ audience: "aud" });
    let seen: string | undefined;
    const server = await startServiceServer({
      name: "peer",
      host: "127.0.0.1",
      port: 0,
      logger: captureLogs("peer").logger,
      routes: (router) =>
        router.service(RelayService, {
          inspect(req, ctx) {
            seen = ctx.values.get(kPeerAddress);
            return { nonce: req.nonce, hops: [] };
          },
          async *inspectStream() {},
        }),
      auth: {
        verifier: createTokenVerifier({ issuer: issuer.issuer, audience: "aud", keys: issuer.jwksUrl }),
      },
      corsOrigins: [],
    });
    const token = await issuer.mint({ aud: "aud" });
    await createClient(RelayService, createGrpcTransport({ baseUrl: server.url })).inspect(
      { nonce: "p" },
      { headers: { authorization: `Bearer ${token}` } },
    );
    expect(seen).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
    await server.close();
    await issuer.close();
  });
});

describe("idle keep-alive connections", () => {
  it("do not hold up close(): the HTTP/1.1 server closes idle sockets instead of waiting out the grace", async () => {
    const local = await startRelayChain(captureLogs("idle").logger, [], 600_000);
    const agent = new http.Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      http
        .get(`${local.a.url}/nope`, { agent }, (res) => {
          res.resume();
          res.on("end", () => resolve());
        })
        .on("error", reject);
    });
    // A 10-minute grace: if idle sockets were not closed, close() would hang past the test timeout.
    await local.a.close();
    agent.destroy();
    await local.close();
  }, 20_000);
});
