import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "#gen/grpc/health/v1/health_pb.js";
import { captureLogs } from "../testing/log-capture.js";
import { startProbeServer } from "../testing/probe-server.js";
import { checkedDependency, type Dependency } from "./dependency.js";
import { type ServiceServer, startServiceServer } from "./service-server.js";

/**
 * `/healthz` and `/readyz` on a real kit server (docs/architecture.md, "Health for orchestrators"):
 * liveness stays 200 whatever the dependencies; readiness is 200 only while every dependency is
 * ready, 503 naming the ones that are not, and always agrees with `grpc.health.v1` `Check("")`.
 */

/** A dependency the test turns up and down by hand. */
function switchable(name: string, initial: boolean): Dependency & { set(ready: boolean): void } {
  let report: ((ready: boolean) => void) | undefined;
  let state = initial;
  return {
    name,
    set(ready) {
      state = ready;
      report?.(ready);
    },
    async follow(r) {
      report = r;
      r(state);
      return () => {
        report = undefined;
      };
    },
  };
}

const logs = captureLogs("health-routes");
const feed = switchable("revocation-feed", true);
let databaseAnswers = true;
let server: ServiceServer;

beforeAll(async () => {
  // Every token is refused: the health paths must not need one.
  server = await startProbeServer("health-routes", logs.logger, [
    feed,
    checkedDependency(
      "database",
      () => {
        if (!databaseAnswers) throw new Error("connect ECONNREFUSED 10.0.0.7:5432 password=hunter2");
      },
      { maxAgeMs: 20 },
    ),
  ]);
});
afterAll(() => server?.close());

const get = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(`${server.url}${path}`, init);
  return { status: res.status, headers: res.headers, body: await res.text() };
};
const grpcHealth = () =>
  createClient(Health, createGrpcTransport({ baseUrl: server.url })).check({ service: "" });

/** Polls until `check` holds; the bound is generous (a loaded 2-core host), and never asserted on. */
async function until(check: () => Promise<boolean>, boundMs = 20_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${boundMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("/healthz and /readyz", () => {
  it("ready: both 200 {status: ok}, no token, not cached; gRPC health says SERVING", async () => {
    for (const path of ["/healthz", "/readyz"]) {
      const res = await get(path);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ status: "ok" });
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
    expect((await grpcHealth()).status).toBe(Status.SERVING);
  });

  it("a dependency down: /readyz 503 naming it (and nothing else), /healthz still 200, gRPC NOT_SERVING; back: 200", async () => {
    feed.set(false);
    const down = await get("/readyz");
    expect(down.status).toBe(503);
    expect(JSON.parse(down.body)).toEqual({ status: "unavailable", not_ready: ["revocation-feed"] });
    expect((await get("/healthz")).status).toBe(200);
    expect((await grpcHealth()).status).toBe(Status.NOT_SERVING);

    feed.set(true);
    expect((await get("/readyz")).status).toBe(200);
    expect((await grpcHealth()).status).toBe(Status.SERVING);
  });

  it("a dependency checked on question: its failure is seen by the next question, named without its error's text, then recovers", async () => {
    databaseAnswers = false;
    await until(async () => (await get("/readyz")).status === 503);
    const down = await get("/readyz");
    expect(JSON.parse(down.body)).toEqual({ status: "unavailable", not_ready: ["database"] });
    expect(down.body).not.toMatch(/ECONNREFUSED|10\.0\.0\.7|hunter2/);
    expect((await grpcHealth()).status).toBe(Status.NOT_SERVING);
    feed.set(false);
    expect(JSON.parse((await get("/readyz")).body).not_ready).toEqual(["database", "revocation-feed"]);
    feed.set(true);

    databaseAnswers = true;
    await until(async () => (await get("/readyz")).status === 200);
    expect((await grpcHealth()).status).toBe(Status.SERVING);
    const changes = logs
      .records()
      .filter((l) => l.dependency === "database")
      .map((l) => l.msg);
    expect(changes).toEqual(["dependency not ready: health NOT_SERVING", "dependency ready again"]);
    expect(JSON.stringify(logs.records())).not.toMatch(/hunter2/);
  });

  it("HEAD answers the status without a body; other methods are 405 with Allow", async () => {
    const head = await get("/readyz", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.body).toBe("");
    const post = await get("/healthz", { method: "POST", body: "{}" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it("a service cannot replace them", async () => {
    await expect(
      startServiceServer({
        name: "clash",
        host: "127.0.0.1",
        port: 0,
        logger: logs.logger,
        routes: () => undefined,
        auth: { verifier: { verify: () => Promise.reject(new Error("no tokens here")) } },
        corsOrigins: [],
        httpRoutes: { "/readyz": (_req, res) => void res.end("always fine") },
      }),
    ).rejects.toThrow(/\/readyz: served by the kit/);
  });
});

describe("while draining", () => {
  it("/readyz says shutting-down, /healthz still lives, until the port closes", async () => {
    const draining = await startServiceServer({
      name: "draining",
      host: "127.0.0.1",
      port: 0,
      logger: logs.logger,
      routes: () => undefined,
      auth: { verifier: { verify: () => Promise.reject(new Error("no tokens here")) } },
      corsOrigins: [],
      shutdownGraceMs: 1000,
    });
    // What `close()` does first, before the port stops accepting: the window a load balancer sees.
    draining.health.shutdown();
    const ready = await fetch(`${draining.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: "unavailable", not_ready: ["shutting-down"] });
    expect((await fetch(`${draining.url}/healthz`)).status).toBe(200);
    await draining.close();
  });
});
