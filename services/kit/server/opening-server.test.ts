import type * as http from "node:http";
import * as http2 from "node:http2";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "#gen/grpc/health/v1/health_pb.js";
import { captureLogs } from "../testing/log-capture.js";
import type { HttpResponse } from "./http-routes.js";
import { type OpeningServer, openServiceServer, type ServiceServer } from "./service-server.js";

/**
 * A port opened before its service is ready (docs/architecture.md, "Health for orchestrators"):
 * the kit's probes answer at once (`/readyz` 503 `starting`, gRPC health NOT_SERVING), everything
 * else 503 with Retry-After; `serve` adds the routes, the guard and the drain the service could
 * only make once it knew its port.
 */
const logs = captureLogs("opening-server");
const refuseAll = { verifier: { verify: () => Promise.reject(new Error("no tokens here")) } };
const toClose: (OpeningServer | ServiceServer)[] = [];
afterAll(() => Promise.all(toClose.map((s) => s.close())));

async function open(): Promise<OpeningServer> {
  const opening = await openServiceServer({
    name: "opening",
    host: "127.0.0.1",
    port: 0,
    logger: logs.logger,
    routes: () => undefined,
    auth: refuseAll,
    corsOrigins: [],
    notFound: (_req, res) =>
      void res.writeHead(404, { "content-type": "application/json" }).end('{"nope":1}'),
    shutdownGraceMs: 30_000,
  });
  toClose.push(opening);
  return opening;
}

const get = async (base: string, path: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${base}${path}`, { headers });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body: await res.text() };
};
const grpcHealth = (base: string) =>
  createClient(Health, createGrpcTransport({ baseUrl: base })).check({ service: "" });

describe("openServiceServer", () => {
  it("while starting: probes answer (not ready: starting), everything else 503 with Retry-After", async () => {
    const opening = await open();
    expect(await get(opening.url, "/healthz")).toMatchObject({ status: 200 });
    const ready = await get(opening.url, "/readyz");
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toEqual({ status: "unavailable", not_ready: ["starting"] });
    expect((await get(opening.url, "/metrics")).status).toBe(200);
    expect((await grpcHealth(opening.url)).status).toBe(Status.NOT_SERVING);
    for (const path of ["/late", "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "/nowhere"]) {
      expect(await get(opening.url, path)).toEqual({ status: 503, retryAfter: "1", body: "" });
    }
  });

  it("serve: the late routes and guard apply, probes stay unguarded, unknown paths reach notFound", async () => {
    const opening = await open();
    const server = await opening.serve({
      httpRoutes: { "/late": (_req, res) => void res.end(`late on ${opening.port}`) },
      guard: (req, res) => {
        if (req.headers["x-refuse"] === undefined) return false;
        res.writeHead(403).end("guarded");
        return true;
      },
    });
    expect(await get(server.url, "/readyz")).toMatchObject({ status: 200 });
    expect((await grpcHealth(server.url)).status).toBe(Status.SERVING);
    expect(await get(server.url, "/late")).toMatchObject({ status: 200, body: `late on ${opening.port}` });
    expect(await get(server.url, "/late", { "x-refuse": "1" })).toMatchObject({
      status: 403,
      body: "guarded",
    });
    expect(await get(server.url, "/nowhere", { "x-refuse": "1" })).toMatchObject({ status: 403 });
    for (const probe of ["/healthz", "/readyz", "/metrics"]) {
      expect((await get(server.url, probe, { "x-refuse": "1" })).status).toBe(200);
    }
    expect(await get(server.url, "/nowhere")).toMatchObject({ status: 404, body: '{"nope":1}' });
  });

  it("close: the drain ends a long-lived answer, so the close does not wait out the grace", async () => {
    const opening = await open();
    const streams = new Set<HttpResponse>();
    const server = await opening.serve({
      httpRoutes: {
        "/events": (_req, res) => {
          res.writeHead(200, { "content-type": "text/event-stream" });
          (res as http.ServerResponse).write(": open\n\n");
          streams.add(res);
        },
      },
      drain: async () => {
        for (const res of streams) res.end();
      },
    });
    // Over h2c and HTTP/1.1: both stay open (a complete request is never cut) until the drain.
    const h1 = await fetch(`${server.url}/events`);
    const session = http2.connect(server.url);
    session.on("error", () => {});
    const h2 = session.request({ ":path": "/events" });
    h2.on("error", () => {});
    const h2Ended = new Promise<void>((resolve) => h2.on("close", () => resolve()));
    h2.resume();
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (streams.size < 2) return;
        clearInterval(poll);
        resolve();
      }, 10);
    });
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(await h1.text()).toBe(": open\n\n");
    await h2Ended;
    session.destroy();
  });

  it("a port already taken: refused, and no dependency is followed for it", async () => {
    const opening = await open();
    let stopped = false;
    await expect(
      openServiceServer({
        name: "second",
        host: "127.0.0.1",
        port: opening.port,
        logger: logs.logger,
        routes: () => undefined,
        auth: refuseAll,
        corsOrigins: [],
        dependencies: [
          {
            name: "database",
            async follow(report) {
              report(true);
              return () => {
                stopped = true;
              };
            },
          },
        ],
      }),
    ).rejects.toThrow(/EADDRINUSE/);
    expect(stopped).toBe(true);
  });
});
