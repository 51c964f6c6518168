import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentService, ToolCallStatus } from "#gen/supportext/agent/v1/agent_pb.js";
import { SERVICE_IDS } from "#kit/auth/index.js";
import { createServiceCredentialInterceptor } from "#kit/propagation/index.js";
import { configuredClientCredentials } from "#kit/service/index.js";
import { captureLogs } from "#kit/testing/log-capture.js";
import { type RunningAgent, startAgent } from "#services/agent/server.js";
import { type RunningGateway, startGateway } from "#services/mcp-gateway/server.js";
import { type AgentTestStack, startAgentTestStack } from "../../testing/agent-test-stack.js";

/**
 * docs/mcp-gateway.md, "Deadlines": a token exchange (and the discover probe and tool calls that
 * wait for it) slow because the machine is busy waits within the turn's deadline; only an outage —
 * nothing accepting the connection — fails a turn, at once. Every fixed bound here is 1 s
 * (`MCP_CONNECT_TIMEOUT`, `MCP_CALL_TIMEOUT`, so the agent's own default is 2 s); the identity
 * provider's token endpoint answers through a real HTTP server that holds each answer 2.5 s; the
 * turn (an agent Run, as chat sends it) has a 30 s deadline.
 */
const DELAY_MS = 2_500;
const TURN_DEADLINE_MS = 30_000;

let stack: AgentTestStack;
let slow: SlowTokenEndpoint;

beforeAll(async () => {
  stack = await startAgentTestStack({ MCP_CONNECT_TIMEOUT: "1s", MCP_CALL_TIMEOUT: "1s", LOG_LEVEL: "warn" });
  slow = await slowTokenEndpoint(stack.base.config.AUTH_TOKEN_URL, DELAY_MS);
});
afterAll(async () => {
  await slow?.close();
  await stack?.close();
});

describe("deadlines through the chain", () => {
  it("a token endpoint slower than every fixed bound: the turn waits within its deadline and succeeds", async () => {
    const chain = await startChain(slow.url);
    try {
      const admin = await stack.base.login("admin@company.com", stack.base.passwords.admin);
      const started = performance.now();
      const events = await chain.run(admin.accessToken, "show me open tickets");
      const tookMs = performance.now() - started;
      const finished = events.flatMap((e) =>
        e.case === "toolCallFinished" && e.value.toolCall ? [e.value.toolCall] : [],
      );
      expect(finished.map((c) => [c.name, ToolCallStatus[c.status]])).toEqual([
        ["list_tickets", "SUCCEEDED"],
      ]);
      expect(events.at(-1)?.case).toBe("finalMessage");
      // It did wait for the slow answer: past every fixed bound, well within the turn's deadline.
      expect(tookMs).toBeGreaterThanOrEqual(DELAY_MS);
      expect(slow.exchanges).toBe(1);
    } finally {
      await chain.close();
    }
  });

  it("concurrent first turns of one principal share one slow exchange", async () => {
    const chain = await startChain(slow.url);
    try {
      const viewer = await stack.base.login("viewer@company.com", stack.base.passwords.viewer);
      const before = slow.exchanges;
      const runs = await Promise.all(
        Array.from({ length: 4 }, () => chain.run(viewer.accessToken, "list open tickets")),
      );
      for (const events of runs) {
        const statuses = events.flatMap((e) =>
          e.case === "toolCallFinished" && e.value.toolCall ? [e.value.toolCall.status] : [],
        );
        expect(statuses).toEqual([ToolCallStatus.SUCCEEDED]);
      }
      expect(slow.exchanges - before).toBe(1);
    } finally {
      await chain.close();
    }
  });

  it("a token endpoint refusing connections: the turn fails fast with unavailable, saying so", async () => {
    // The gateway starts against a live endpoint (its own service credential and revocation feed
    // need one), which then goes away: its port refuses every connection, as a stopped server's does.
    const gone = await slowTokenEndpoint(stack.base.config.AUTH_TOKEN_URL, DELAY_MS);
    const chain = await startChain(gone.url);
    await gone.close();
    try {
      const admin = await stack.base.login("admin@company.com", stack.base.passwords.admin);
      const started = performance.now();
      const err = await chain.run(admin.accessToken, "show me open tickets").then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      const tookMs = performance.now() - started;
      expect(err?.code).toBe(Code.Unavailable);
      expect(err?.rawMessage).toMatch(/token exchange failed: unreachable: .*connection refused/);
      expect(err?.rawMessage).not.toMatch(/eyJ|at .*\.ts:/);
      // An outage is not waited for: far sooner than the turn's deadline, and than the slow answer.
      expect(tookMs).toBeLessThan(DELAY_MS);
    } finally {
      await chain.close();
    }
  });
});

/**
 * The identity provider's token endpoint behind a real HTTP server that holds every token
 * exchange's answer `delayMs` (other grants, such as the gateway's own client credentials, pass at once).
 */
interface SlowTokenEndpoint {
  readonly url: string;
  /** Token exchanges forwarded so far. */
  readonly exchanges: number;
  close(): Promise<void>;
}

async function slowTokenEndpoint(target: string, delayMs: number): Promise<SlowTokenEndpoint> {
  let exchanges = 0;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    if (body.includes("token-exchange")) {
      exchanges++;
      await new Promise((r) => setTimeout(r, delayMs));
    }
    const answer = await fetch(target, {
      method: "POST",
      headers: {
        "content-type": req.headers["content-type"] ?? "application/x-www-form-urlencoded",
        authorization: req.headers.authorization ?? "",
      },
      body,
    });
    res.writeHead(answer.status, {
      "content-type": answer.headers.get("content-type") ?? "application/json",
    });
    res.end(await answer.text());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/token`,
    get exchanges() {
      return exchanges;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A gateway whose token endpoint is `tokenUrl`, and an agent service calling it, beside the test
 * stack's (same identity provider, MCP server and settings). `run` calls the agent as chat does.
 */
async function startChain(tokenUrl: string) {
  const config = stack.base.config;
  const logs = captureLogs("mcp-gateway", "warn");
  const gateway: RunningGateway = await startGateway(
    { ...config, AUTH_TOKEN_URL: tokenUrl, GATEWAY_PORT: 0 },
    logs.logger,
  );
  const databaseUrl = process.env.DATABASE_URL;
  const agent: RunningAgent = await startAgent(
    {
      ...config,
      GATEWAY_URL: gateway.url,
      AGENT_PORT: 0,
      DATA_DIR: mkdtempSync(join(tmpdir(), "deadlines-")),
    },
    captureLogs("agent", "warn").logger,
    databaseUrl ? { databaseSchema: `agent_${randomBytes(5).toString("hex")}` } : {},
  );
  const chatCredentials = configuredClientCredentials(config, SERVICE_IDS.chat);
  // Calls the agent service as chat does: chat's own service credential beside the user's token.
  const asChat = createServiceCredentialInterceptor(chatCredentials, SERVICE_IDS.agent);
  const client = createClient(
    AgentService,
    createGrpcTransport({ baseUrl: agent.url, interceptors: [asChat] }),
  );
  return {
    async run(token: string, input: string) {
      const events = [];
      for await (const res of client.run(
        { agentId: "support-assistant", input },
        { headers: { authorization: `Bearer ${token}` }, timeoutMs: TURN_DEADLINE_MS },
      )) {
        if (res.event) events.push(res.event.event);
      }
      return events;
    },
    async close() {
      await agent.close();
      await gateway.close();
    },
  };
}
