import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import {
  gatewayAsAgent,
  lockFiles,
  portClosed,
  processAlive,
  type StackUnderTest,
  startStack,
} from "./testing/stack-harness.js";

/**
 * `npm start` itself (npm, its shell, the runner, four services): a service killed -9 comes back on
 * its port while the others keep running, and a SIGTERM to the npm process alone stops everything.
 */

let stack: StackUnderTest;
const pids = () =>
  Object.fromEntries(stack.runnerLines("service ready").map((l) => [l.process as string, l.pid as number]));

beforeAll(async () => {
  // npm as the test was started with (npm_execpath), else the one on PATH.
  const npmCli = process.env.npm_execpath;
  stack =
    npmCli && /npm-cli\.js$/.test(npmCli)
      ? await startStack(process.execPath, [npmCli, "start"])
      : await startStack("npm", ["start"]);
  await stack.waitFor((o) => o.includes('"msg":"stack ready"'), 120_000);
}, 130_000);

afterAll(() => {
  for (const pid of Object.values(pids())) if (processAlive(pid)) process.kill(pid, "SIGKILL");
  if (stack.child.exitCode === null) stack.child.kill("SIGKILL");
});

describe("npm start supervises", () => {
  it("restarts an MCP server killed -9 on the same port; the other three keep their pids", async () => {
    // Chat first, then the other three together; the cold start time is in the ready line.
    expect(typeof stack.runnerLines("stack ready")[0]?.ready_ms).toBe("number");
    const before = pids();
    expect(Object.keys(before).sort()).toEqual([
      "agent",
      "chat",
      "identity",
      "mcp-gateway",
      "mcp-server",
      "postgres",
    ]);
    process.kill(before["mcp-server"] as number, "SIGKILL");
    await stack.waitFor(
      () => stack.runnerLines("service restarted").some((l) => l.process === "mcp-server"),
      60_000,
    );
    const crashed = stack.runnerLines("service crashed");
    expect(crashed.map((l) => [l.process, l.signal])).toEqual([["mcp-server", "SIGKILL"]]);
    expect(stack.runnerLines("restarting service").map((l) => [l.process, l.delay_ms])).toEqual([
      ["mcp-server", 500],
    ]);

    // A user's call through the gateway reaches the restarted server (retried while its verifiers catch up).
    const auth = createClient(
      AuthService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${stack.ports.identity}`, httpVersion: "1.1" }),
    );
    const login = await auth.login({ email: "admin@company.com", password: stack.adminPassword });
    const headers = { authorization: `Bearer ${login.tokens?.accessToken ?? ""}` };
    const gateway = gatewayAsAgent(stack);
    let tools = 0;
    for (let attempt = 0; attempt < 100 && tools === 0; attempt++) {
      tools = await gateway.listTools({}, { headers }).then(
        (r) => r.tools.length,
        () => new Promise<number>((r) => setTimeout(() => r(0), 200)),
      );
    }
    expect(tools).toBe(13);

    for (const name of ["postgres", "identity", "chat", "mcp-gateway", "agent"])
      expect(processAlive(before[name] as number)).toBe(true);
    const restarted = stack.runnerLines("service restarted").find((l) => l.process === "mcp-server");
    expect(restarted?.port).toBe(stack.ports.mcp);
    expect(restarted?.pid).not.toBe(before["mcp-server"]);
  }, 90_000);

  it("a SIGTERM to the npm process alone stops every service: no orphans, no lock files", async () => {
    const running = [
      ...Object.values(pids()),
      ...stack.runnerLines("service restarted").map((l) => l.pid as number),
    ];
    const exited = new Promise<void>((r) => stack.child.once("exit", () => r()));
    stack.child.kill("SIGTERM");
    await exited;
    // npm may exit before the runner has finished draining: wait for the services themselves, and
    // for the runner to release PostgreSQL's lock once the server has exited (its last step).
    const deadline = Date.now() + 30_000;
    const stopping = () => running.some(processAlive) || lockFiles(stack.dataDir).length > 0;
    while (stopping() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(running.filter(processAlive)).toEqual([]);
    for (const port of Object.values(stack.ports)) expect(await portClosed(port)).toBe(true);
    // On failure, what the services said while stopping tells which one did not release its lock.
    expect(lockFiles(stack.dataDir), stack.output().slice(-6000)).toEqual([]);
    expect(stack.output()).not.toContain("second signal while stopping");
  }, 60_000);
});
