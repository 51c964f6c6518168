import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "#gen/grpc/health/v1/health_pb.js";
import { startTestStack, type TestStack } from "../../testing/test-stack.js";

/**
 * Issue 22, item 3: every service of the whole stack answers `/healthz` and `/readyz` on its own
 * port, without a token, 200 once started (docs/architecture.md, "Health for orchestrators"), and
 * each Connect service's gRPC health says the same.
 */
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ LOG_LEVEL: "info" });
}, 180_000);
afterAll(async () => {
  await stack?.close();
});

describe("health of every service on the stack", () => {
  it("/healthz and /readyz are 200 {status: ok} on identity, chat, agent, mcp-gateway and mcp-server", async () => {
    const services = {
      identity: stack.identity.url,
      chat: stack.chat.url,
      agent: stack.agent.url,
      "mcp-gateway": stack.gateway.url,
      "mcp-server": stack.mcp()?.url ?? "",
    };
    const answers: Record<string, unknown> = {};
    for (const [name, url] of Object.entries(services)) {
      for (const path of ["/healthz", "/readyz"]) {
        const res = await fetch(`${url}${path}`);
        answers[`${name} ${path}`] = [res.status, await res.json()];
      }
    }
    const expected = Object.fromEntries(Object.keys(answers).map((key) => [key, [200, { status: "ok" }]]));
    expect(answers).toEqual(expected);
    expect(Object.keys(answers)).toHaveLength(10);
  });

  it("gRPC health agrees on the four Connect services", async () => {
    for (const url of [stack.identity.url, stack.chat.url, stack.agent.url, stack.gateway.url]) {
      const health = createClient(Health, createGrpcTransport({ baseUrl: url }));
      expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
    }
  });
});
