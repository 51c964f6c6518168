/**
 * Health tests over an in-memory transport, covering the grpc-go semantics that probes rely on:
 * NOT_FOUND from Check, SERVICE_UNKNOWN from Watch, change-only Watch output and the shutdown freeze.
 */

import type { Interceptor } from "@connectrpc/connect";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { HealthCheckResponse } from "#gen/grpc/health/v1/health_pb.js";
import { Health } from "#gen/grpc/health/v1/health_pb.js";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { createHealth, ServingStatus } from "./health.js";

const AUTH = AuthService.typeName;

/** A health registry, a client for it, and a promise that settles when a server-side stream ends. */
function setup() {
  const health = createHealth();
  let streamEnded: () => void = () => {};
  const ended = new Promise<void>((resolve) => {
    streamEnded = resolve;
  });
  // Observes the server side of streaming calls: proves Watch stops when the call is cancelled.
  const observe: Interceptor = (next) => async (req) => {
    const res = await next(req);
    if (!res.stream) return res;
    const source = res.message;
    return {
      ...res,
      message: (async function* () {
        try {
          yield* source;
        } finally {
          streamEnded();
        }
      })(),
    };
  };
  const transport = createRouterTransport((router) => health.register(router), {
    router: { interceptors: [observe] },
  });
  return { health, client: createClient(Health, transport), ended };
}

/** Pulls the next status from a Watch stream. */
async function next(it: AsyncIterator<HealthCheckResponse>): Promise<ServingStatus | undefined> {
  const r = await it.next();
  return r.done ? undefined : r.value.status;
}

describe("health", () => {
  it("reports the overall server as SERVING and a registered service once set", async () => {
    const { health, client } = setup();
    expect((await client.check({ service: "" })).status).toBe(ServingStatus.SERVING);
    health.setStatus(AUTH, ServingStatus.SERVING);
    expect((await client.check({ service: AUTH })).status).toBe(ServingStatus.SERVING);
    health.setStatus(AUTH, ServingStatus.NOT_SERVING);
    expect((await client.check({ service: AUTH })).status).toBe(ServingStatus.NOT_SERVING);
  });

  it("answers Check for an unknown service with NOT_FOUND", async () => {
    const { client } = setup();
    const err = await client.check({ service: "nope.v1.Nope" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.NotFound);
  });

  it("lists every status including the overall server", async () => {
    const { health, client } = setup();
    health.setStatus(AUTH, ServingStatus.NOT_SERVING);
    const { statuses } = await client.list({});
    expect(Object.fromEntries(Object.entries(statuses).map(([k, v]) => [k, v.status]))).toEqual({
      "": ServingStatus.SERVING,
      [AUTH]: ServingStatus.NOT_SERVING,
    });
  });

  it("Watch sends the current status, then only changes, and stops when the call is cancelled", async () => {
    const { health, client, ended } = setup();
    health.setStatus(AUTH, ServingStatus.SERVING);
    const abort = new AbortController();
    const it = client.watch({ service: AUTH }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect(await next(it)).toBe(ServingStatus.SERVING);
    health.setStatus(AUTH, ServingStatus.NOT_SERVING);
    expect(await next(it)).toBe(ServingStatus.NOT_SERVING);
    health.setStatus(AUTH, ServingStatus.NOT_SERVING); // no change: nothing sent
    health.setStatus("other", ServingStatus.SERVING); // another service: nothing sent
    health.setStatus(AUTH, ServingStatus.SERVING);
    expect(await next(it)).toBe(ServingStatus.SERVING);

    const pending = it.next();
    abort.abort();
    await expect(pending).rejects.toMatchObject({ code: Code.Canceled });
    await ended; // the server-side generator finished, so no watcher leaks
  });

  it("Watch on an unknown service streams SERVICE_UNKNOWN until it becomes known", async () => {
    const { health, client } = setup();
    const abort = new AbortController();
    const it = client.watch({ service: AUTH }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect(await next(it)).toBe(ServingStatus.SERVICE_UNKNOWN);
    health.setStatus(AUTH, ServingStatus.SERVING);
    expect(await next(it)).toBe(ServingStatus.SERVING);
    abort.abort();
  });

  it("shutdown sets everything NOT_SERVING, notifies watchers and ignores later updates", async () => {
    const { health, client } = setup();
    health.setStatus(AUTH, ServingStatus.SERVING);
    const abort = new AbortController();
    const it = client.watch({ service: "" }, { signal: abort.signal })[Symbol.asyncIterator]();
    expect(await next(it)).toBe(ServingStatus.SERVING);

    health.shutdown();
    expect(await next(it)).toBe(ServingStatus.NOT_SERVING);
    // Then the stream ends, so an open Watch does not hold the draining server open.
    expect(await next(it)).toBeUndefined();
    expect((await client.check({ service: "" })).status).toBe(ServingStatus.NOT_SERVING);
    expect((await client.check({ service: AUTH })).status).toBe(ServingStatus.NOT_SERVING);

    health.setStatus(AUTH, ServingStatus.SERVING);
    expect((await client.check({ service: AUTH })).status).toBe(ServingStatus.NOT_SERVING);
    abort.abort();
  });

  it("Watch after shutdown sends NOT_SERVING and ends", async () => {
    const { health, client } = setup();
    health.shutdown();
    const statuses: ServingStatus[] = [];
    for await (const res of client.watch({ service: "" })) statuses.push(res.status);
    expect(statuses).toEqual([ServingStatus.NOT_SERVING]);
  });
});
