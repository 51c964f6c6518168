/**
 * The health additions: a down dependency turns every status NOT_SERVING (and back), and draining
 * hooks registered on a router run when that router's server shuts down.
 */
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Health, type HealthCheckResponse } from "#gen/grpc/health/v1/health_pb.js";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { createHealth, onDraining, ServingStatus } from "./health.js";

const AUTH = AuthService.typeName;

function setup(extraRoutes?: Parameters<typeof createRouterTransport>[0], watchRecheckMs?: number) {
  const health = createHealth({ watchRecheckMs });
  const transport = createRouterTransport((router) => {
    extraRoutes?.(router);
    health.register(router);
  });
  return { health, client: createClient(Health, transport) };
}

async function next(it: AsyncIterator<HealthCheckResponse>): Promise<ServingStatus | undefined> {
  const r = await it.next();
  return r.done ? undefined : r.value.status;
}

describe("health dependencies", () => {
  it("a down dependency makes every status NOT_SERVING until all are back; Watch sees each change", async () => {
    const { health, client } = setup();
    health.setStatus(AUTH, ServingStatus.SERVING);
    const abort = new AbortController();
    const it = client.watch({ service: "" }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect(await next(it)).toBe(ServingStatus.SERVING);

    health.setDependency("revocation-feed", false);
    expect(await next(it)).toBe(ServingStatus.NOT_SERVING);
    expect((await client.check({ service: AUTH })).status).toBe(ServingStatus.NOT_SERVING);
    const listed = await client.list({});
    expect(Object.values(listed.statuses).map((s) => s.status)).toEqual([
      ServingStatus.NOT_SERVING,
      ServingStatus.NOT_SERVING,
    ]);

    health.setDependency("database", false);
    health.setDependency("revocation-feed", true);
    expect((await client.check({ service: "" })).status).toBe(ServingStatus.NOT_SERVING);
    health.setDependency("database", true);
    expect(await next(it)).toBe(ServingStatus.SERVING);
    expect((await client.check({ service: AUTH })).status).toBe(ServingStatus.SERVING);
    abort.abort();
  });

  it("keeps a service set NOT_SERVING as it is, and ignores dependencies after shutdown", async () => {
    const { health, client } = setup();
    health.setStatus(AUTH, ServingStatus.NOT_SERVING);
    health.setDependency("revocation-feed", false);
    health.setDependency("revocation-feed", true);
    expect((await client.check({ service: AUTH })).status).toBe(ServingStatus.NOT_SERVING);
    health.shutdown();
    health.setDependency("revocation-feed", true);
    expect((await client.check({ service: "" })).status).toBe(ServingStatus.NOT_SERVING);
  });
});

describe("questions", () => {
  it("Check, List and readiness ask the dependencies first and answer with what they report; a Watch asks while it is open", async () => {
    const { health, client } = setup(undefined, 20);
    let questions = 0;
    let databaseUp = true;
    const stop = health.questions.onQuestion(async () => {
      questions += 1;
      health.setDependency("database", databaseUp);
    });
    databaseUp = false;
    expect((await client.check({ service: "" })).status).toBe(ServingStatus.NOT_SERVING);
    databaseUp = true;
    expect((await client.list({})).statuses[""]?.status).toBe(ServingStatus.SERVING);
    databaseUp = false;
    expect(await health.readiness()).toEqual({ ready: false, notReady: ["database"] });
    expect(questions).toBe(3);

    // A Watch sees the database come back without anyone else asking.
    const abort = new AbortController();
    const it = client.watch({ service: "" }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect(await next(it)).toBe(ServingStatus.NOT_SERVING);
    databaseUp = true;
    expect(await next(it)).toBe(ServingStatus.SERVING);
    abort.abort();

    // A listener that throws is the dependency's affair: the answer still comes.
    health.questions.onQuestion(() => Promise.reject(new Error("broken listener")));
    databaseUp = true;
    expect((await client.check({ service: "" })).status).toBe(ServingStatus.SERVING);
    // After shutdown the statuses are frozen: nothing is asked.
    const before = questions;
    health.shutdown();
    await client.check({ service: "" });
    expect(questions).toBe(before);
    // Removed, a listener is not asked any more.
    const unfrozen = setup();
    let asked = 0;
    const remove = unfrozen.health.questions.onQuestion(async () => {
      asked += 1;
    });
    await unfrozen.client.check({ service: "" });
    remove();
    await unfrozen.client.check({ service: "" });
    expect(asked).toBe(1);
    stop();
  });
});

describe("draining hooks", () => {
  it("run once the server whose router they were registered on shuts down, not before", () => {
    const calls: string[] = [];
    const { health } = setup((router) => {
      onDraining(router, () => calls.push("feed"));
      onDraining(router, () => {
        throw new Error("a broken hook");
      });
      onDraining(router, () => calls.push("other"));
    });
    const unrelated = setup((router) => onDraining(router, () => calls.push("unrelated")));
    expect(calls).toEqual([]);
    health.shutdown();
    expect(calls).toEqual(["feed", "other"]);
    unrelated.health.setStatus("", ServingStatus.SERVING);
    expect(calls).toEqual(["feed", "other"]);
  });
});
