import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { McpGatewayService } from "#gen/supportext/mcpgateway/v1/mcp_gateway_pb.js";
import { createClientCredentials, SERVICE_AUTHORIZATION_HEADER, SERVICE_IDS } from "#kit/auth/index.js";
import { freePort } from "#kit/testing/free-port.js";

/** For the stack's tests: a stack started in a temporary DATA_DIR on free ports, whatever the shell exports. */
export interface StackUnderTest {
  readonly child: ChildProcess;
  readonly dataDir: string;
  readonly ports: Record<"identity" | "chat" | "agent" | "gateway" | "mcp", number>;
  readonly adminPassword: string;
  readonly agentSecret: string;
  /** Everything printed so far, stdout and stderr. */
  output(): string;
  /** The runner's JSON lines (`service: "stack"`) with this `msg`. */
  runnerLines(msg: string): Record<string, unknown>[];
  /** Resolves once `predicate(output)` holds; rejects if the process exits first or after `timeoutMs`. */
  waitFor(predicate: (output: string) => boolean, timeoutMs: number): Promise<void>;
  /** One SIGTERM if it still runs; resolves once it has exited (at once if it already had). */
  stop(): Promise<void>;
}

type StackPorts = StackUnderTest["ports"];

/**
 * The runner's arguments as `npm start` gives them to Node (package.json): the sources compiled once
 * into `.cache/start/` and every service run from there, as a user's stack runs — not TypeScript
 * compiled inside each process at run time (a stack's start costs 12.6–14.2 s of CPU that way
 * against 7.6–8.5 s; docs/development.md, "Tests").
 */
export const NPM_START = ["scripts/start.mjs"] as const;

/** `command args` (the runner, or `npm start`) with an environment that fixes everything the tests rely on. */
export async function startStack(
  command: string,
  args: readonly string[],
  options: { detached?: boolean; env?: Record<string, string> } = {},
): Promise<StackUnderTest> {
  const ports: StackPorts = {
    identity: await freePort(),
    chat: await freePort(),
    agent: await freePort(),
    gateway: await freePort(),
    mcp: await freePort(),
  };
  const dataDir = mkdtempSync(join(tmpdir(), "stack-test-"));
  const adminPassword = `admin-${randomBytes(9).toString("base64url")}`;
  const agentSecret = randomBytes(32).toString("base64url");
  const child = spawn(command, [...args], {
    env: { ...stackEnv({ ports, dataDir, adminPassword, agentSecret }), ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
  const output = collectOutput(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    dataDir,
    ports,
    adminPassword,
    agentSecret,
    output,
    runnerLines: (msg) => runnerLines(output(), msg),
    waitFor: (predicate, timeoutMs) => waitForOutput(child, output, predicate, timeoutMs),
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/**
 * Only what node and npm need from the shell: the product's settings it exports (DATABASE_URL,
 * secrets, AUTH_DEV_ANONYMOUS, GATEWAY_ALLOW_DIRECT_USERS, REVOCATION_*…) must not leak in.
 */
function stackEnv(stack: Pick<StackUnderTest, "ports" | "dataDir" | "adminPassword" | "agentSecret">) {
  const { ports } = stack;
  return {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "",
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
    NODE_ENV: "development",
    HOST: "127.0.0.1",
    DATA_DIR: stack.dataDir,
    IDENTITY_PORT: String(ports.identity),
    CHAT_PORT: String(ports.chat),
    AGENT_PORT: String(ports.agent),
    GATEWAY_PORT: String(ports.gateway),
    MCP_PORT: String(ports.mcp),
    LOG_LEVEL: "info",
    LOG_FORMAT: "json",
    SEED_ADMIN_PASSWORD: stack.adminPassword,
    AGENT_CLIENT_SECRET: stack.agentSecret,
  };
}

/** Everything `child` prints, stdout and stderr, as it comes. */
function collectOutput(child: ChildProcess): () => string {
  let output = "";
  child.stdout?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  return () => output;
}

function runnerLines(output: string, msg: string): Record<string, unknown>[] {
  return output
    .split("\n")
    .filter((l) => l.startsWith("{") && l.includes('"service":"stack"') && l.includes(`"msg":"${msg}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function waitForOutput(
  child: ChildProcess,
  output: () => string,
  predicate: (output: string) => boolean,
  timeoutMs: number,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const poll = setInterval(() => {
      if (predicate(output())) {
        clearInterval(poll);
        resolve();
      } else if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        clearInterval(poll);
        reject(new Error(`stack exited or timed out:\n${output().slice(-3000)}`));
      }
    }, 100);
  });
}

/** The gateway client as the agent service calls it: its own credential, from the identity provider. */
export function gatewayAsAgent(stack: StackUnderTest) {
  const agentCredentials = createClientCredentials({
    tokenEndpoint: `http://127.0.0.1:${stack.ports.identity}/oauth2/token`,
    client: { clientId: SERVICE_IDS.agent, clientSecret: stack.agentSecret },
  });
  const asAgent: Interceptor = (next) => async (req) => {
    req.header.set(
      SERVICE_AUTHORIZATION_HEADER,
      `Bearer ${await agentCredentials.tokenFor(SERVICE_IDS.gateway, "support-assistant")}`,
    );
    return next(req);
  };
  return createClient(
    McpGatewayService,
    createGrpcTransport({ baseUrl: `http://127.0.0.1:${stack.ports.gateway}`, interceptors: [asAgent] }),
  );
}

/** Whether nothing accepts connections on `port` any more. */
export function portClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", () => resolve(true));
  });
}

/** Whether a process with this pid still exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The `<service>.lock` files left in the data directory. */
export function lockFiles(dataDir: string): string[] {
  return readdirSync(dataDir).filter((f) => f.endsWith(".lock"));
}

/**
 * Removes a stack's data directory once nothing writes to it: the embedded PostgreSQL server (the
 * pid in its postmaster.pid) finishes its shutdown after its owner has gone, which may be after the
 * runner or npm has exited (docs/architecture.md, "Data").
 */
export async function removeDataDir(dataDir: string, timeoutMs = 30_000): Promise<void> {
  const pidFile = join(dataDir, "postgres", "postmaster.pid");
  const deadline = Date.now() + timeoutMs;
  if (existsSync(pidFile)) {
    const pid = Number.parseInt(readFileSync(pidFile, "utf8").split("\n")[0] ?? "", 10);
    while (Number.isInteger(pid) && processAlive(pid) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  rmSync(dataDir, { recursive: true, force: true, maxRetries: 5 });
}
