import { type ChildProcess, execFile } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ToolCallStatus } from "#gen/supportext/agent/v1/agent_pb.js";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { ChatService, MessageStatus } from "#gen/supportext/chat/v1/chat_pb.js";
import { McpGatewayService } from "#gen/supportext/mcpgateway/v1/mcp_gateway_pb.js";
import {
  gatewayAsAgent,
  lockFiles,
  NPM_START,
  portClosed,
  type StackUnderTest,
  startStack,
} from "./testing/stack-harness.js";

/**
 * `npm start` as a user runs it: every service its own process on the embedded defaults (PGlite,
 * keys generated on first start), then the original system's reproduction flow up to the MCP
 * server — log in as admin@company.com, reach the tools through the gateway — and the log lines
 * the original system specified.
 */

const execFileAsync = promisify(execFile);
let stack: StackUnderTest;
let runner: ChildProcess;
const output = () => stack.output();

beforeAll(async () => {
  // Its own process group, as a terminal gives `npm start`: the last test sends Ctrl-C's SIGINT to it.
  stack = await startStack(process.execPath, NPM_START, {
    detached: true,
  });
  runner = stack.child;
  await stack.waitFor((o) => o.includes('"msg":"stack ready"'), 120_000);
}, 120_000);

afterAll(() => {
  if (runner.exitCode === null) runner.kill("SIGKILL");
});

describe("the stack started by npm start", () => {
  it("logs in, reaches all 13 tools through the gateway as the user (called as the agent service calls it), and the MCP server logs it", async () => {
    const auth = createClient(
      AuthService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${stack.ports.identity}`, httpVersion: "1.1" }),
    );
    const login = await auth.login({ email: "admin@company.com", password: stack.adminPassword });
    const token = login.tokens?.accessToken ?? "";
    const headers = { authorization: `Bearer ${token}` };
    const me = await auth.whoAmI({}, { headers });
    expect(me.user?.email).toBe("admin@company.com");

    // A user alone is refused: the gateway serves the agent service only.
    const direct = createClient(
      McpGatewayService,
      createGrpcTransport({ baseUrl: `http://127.0.0.1:${stack.ports.gateway}` }),
    );
    const refused = await direct.listTools({}, { headers }).catch((e: unknown) => ConnectError.from(e));
    expect((refused as ConnectError).code).toBe(Code.PermissionDenied);
    // As the agent service: its own credential naming the agent, from the identity provider.
    const gateway = gatewayAsAgent(stack);
    const { tools } = await gateway.listTools({}, { headers });
    expect(tools).toHaveLength(13);
    const created = await gateway.callTool(
      {
        name: "create_ticket",
        argumentsJson: JSON.stringify({ title: "Printer on fire", priority: "high" }),
      },
      { headers },
    );
    expect(JSON.parse(created.structuredContentJson).ticket.created_by).toBe(login.user?.id);

    const userId = login.user?.id ?? "";
    // Log lines reach stdout within 100 ms of being written (kit/log gathers them): awaited.
    await expect.poll(output, { timeout: 20_000 }).toContain(`MCP tool authenticated for user ${userId}`);
    expect(output()).not.toContain("MCP tool call missing Authorization header");
    expect(output()).not.toContain(token);
  });

  it("the original reproduction flow through chat → agent → gateway → MCP server, as the user", async () => {
    // PRP: log in as admin, get an agent from ListAgents, create a thread, ask about the tools.
    const chatUrl = `http://127.0.0.1:${stack.ports.chat}`;
    const identityUrl = `http://127.0.0.1:${stack.ports.identity}`;
    const auth = createClient(
      AuthService,
      createConnectTransport({ baseUrl: identityUrl, httpVersion: "1.1" }),
    );
    const login = await auth.login({ email: "admin@company.com", password: stack.adminPassword });
    const userId = login.user?.id ?? "";
    const headers = { authorization: `Bearer ${login.tokens?.accessToken ?? ""}` };
    // Connect JSON over HTTP/1.1, as the extension (connect-web) calls it.
    const chat = createClient(ChatService, createConnectTransport({ baseUrl: chatUrl, httpVersion: "1.1" }));
    const { agents } = await chat.listAgents({}, { headers });
    const agent = agents.find((a) => a.id === "support-assistant");
    expect(agent?.allowedTools).toHaveLength(13);
    const { thread } = await chat.createThread({ agentId: agent?.id ?? "" }, { headers });
    const threadId = thread?.id ?? "";
    const before = output()
      .split("\n")
      .filter((l) => l.includes(`MCP tool authenticated for user ${userId}`)).length;

    const tools = await chat.sendMessage(
      { threadId, content: "What are all the tools you can call?" },
      { headers },
    );
    expect(tools.assistantMessage?.status).toBe(MessageStatus.COMPLETE);
    for (const name of ["create_ticket", "get_system_health", "delete_ticket"])
      expect(tools.assistantMessage?.content).toContain(name);

    const created = await chat.sendMessage(
      { threadId, content: "create a ticket: printer on fire, high priority" },
      { headers },
    );
    const call = created.assistantMessage?.toolCalls.find((c) => c.name === "create_ticket");
    expect(call?.status).toBe(ToolCallStatus.SUCCEEDED);
    expect(JSON.parse(call?.structuredResultJson ?? "{}").ticket.created_by).toBe(userId);

    // The MCP server saw the user on those requests (tools/list and tools/call), never a missing header.
    // Log lines reach stdout within 100 ms of being written (kit/log gathers them): awaited.
    const authenticatedLines = () =>
      output()
        .split("\n")
        .filter((l) => l.includes(`MCP tool authenticated for user ${userId}`)).length;
    await expect.poll(authenticatedLines, { timeout: 20_000 }).toBeGreaterThan(before);
    expect(output()).not.toContain("MCP tool call missing Authorization header");
    expect(output()).not.toContain(login.tokens?.accessToken ?? "no token");
  }, 60_000);

  it("seals the signing keys with the data directory's own secret, which `npm run rotate-keys` on the running stack shares: a key it adds signs, one it removes is refused at once", async () => {
    expect(statSync(join(stack.dataDir, "signing-key.secret")).mode & 0o777).toBe(0o600);
    const identityUrl = `http://127.0.0.1:${stack.ports.identity}`;
    const auth = createClient(
      AuthService,
      createConnectTransport({ baseUrl: identityUrl, httpVersion: "1.1" }),
    );
    const login = async () =>
      (await auth.login({ email: "admin@company.com", password: stack.adminPassword })).tokens?.accessToken ??
      "";
    const before = await login();
    const oldKid = decodeProtectedHeader(before).kid ?? "";
    // The tool as a user runs it beside the stack: the same data directory, nothing else set.
    const rotateKeys = (...args: string[]) =>
      execFileAsync(process.execPath, ["scripts/start.mjs", "rotate-keys", ...args], {
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", DATA_DIR: stack.dataDir },
      });
    const added = await rotateKeys("--now");
    const newKid = /added key (\S+):/.exec(added.stdout)?.[1];
    await rotateKeys("--remove", oldKid);
    const chat = createClient(
      ChatService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${stack.ports.chat}`, httpVersion: "1.1" }),
    );
    const refusal = async () => {
      const err = await chat
        .listAgents({}, { headers: { authorization: `Bearer ${before}` } })
        .catch((e) => e);
      return err instanceof Error ? ConnectError.from(err).rawMessage : "accepted";
    };
    await expect.poll(refusal, { timeout: 10_000 }).toMatch(/^key_removed: /);
    // The service opened the key the tool sealed: new tokens are its.
    await expect.poll(async () => decodeProtectedHeader(await login()).kid, { timeout: 10_000 }).toBe(newKid);
  }, 60_000);

  it("one Ctrl-C (SIGINT to the whole process group) is one graceful stop of every process, no lock left", async () => {
    const exited = new Promise<number | null>((r) => runner.once("exit", (code) => r(code)));
    process.kill(-(runner.pid as number), "SIGINT");
    expect(await exited).toBe(0);
    for (const name of ["identity", "chat", "mcp-server", "mcp-gateway", "agent"]) {
      // Each service drained on the runner's one SIGTERM: none saw a second signal.
      expect(output()).toContain(`"service":"${name}","signal":"SIGTERM","msg":"stopping"`);
    }
    expect(output()).not.toContain("second signal while stopping");
    // On failure, say what the runner saw of each service (a restart, a kill) beside the lock left.
    const runnerSaw = output()
      .split("\n")
      .filter((l) =>
        /"msg":"service (restarted|exited|crashed|ready)"|stop failed|MCP server stopped/.test(l),
      )
      .join("\n");
    expect(lockFiles(stack.dataDir), runnerSaw).toEqual([]);
    // The Ctrl-C reached the runner only: no process (the embedded PostgreSQL included) went down
    // under the others' drain and was taken for a crash.
    expect(output(), runnerSaw).not.toContain('"msg":"service crashed"');
    // Nothing listens any more.
    for (const port of Object.values(stack.ports)) expect(await portClosed(port)).toBe(true);
  }, 60_000);
});
