import { randomBytes } from "node:crypto";
import { freePort } from "#kit/testing/free-port.js";
import { type BenchProcess, connectHealthServing, spawnBenchProcess } from "./service-process.js";

/** The stack as the gateway bench runs it; `pid` is its runner's, the ancestor of every service. */
export type BenchStack = BenchProcess;

const READY_TIMEOUT_MS = 120_000;

/**
 * The whole stack, each service its own process as under `npm start` (the sources run under tsx),
 * for the gateway bench: its log lines (at the level the
 * bench asks for, info by default, so a per-call line is part of what is measured) are written to
 * /dev/null rather than mixed into the bench's output; errors still reach stderr. A fresh PGlite
 * DATA_DIR; stop() also removes it.
 */
export function spawnQuietStack(options: {
  readonly env: Record<string, string>;
  readonly ready: () => Promise<boolean>;
}): Promise<BenchStack> {
  return spawnBenchProcess({
    entry: "services/stack/main.ts",
    label: "the stack",
    env: { LOG_FORMAT: "json", ...options.env },
    ready: options.ready,
    readyTimeoutMs: READY_TIMEOUT_MS,
    stdout: "discard",
  });
}

/** The stack started for the gateway bench: where each service answers, and the secrets it was given. */
export interface GatewayBenchStack extends BenchStack {
  /** The settings it was started with (a baseline gateway beside it gets the same). */
  readonly env: Record<string, string>;
  readonly identityUrl: string;
  readonly gatewayUrl: string;
  readonly mcpPort: number;
  /** The MCP server's resource URI: the exchanged tokens' audience. */
  readonly mcpResource: string;
  readonly adminPassword: string;
  /** The gateway's client secret (the direct arm exchanges tokens as the gateway does). */
  readonly gatewaySecret: string;
  readonly agentSecret: string;
}

/**
 * The stack on free ports with fresh secrets, ready once the gateway, the agent and the MCP server
 * answer. With `profileDir`, every service runs with `--cpu-prof` writing there.
 */
export async function startGatewayBenchStack(profileDir: string | undefined): Promise<GatewayBenchStack> {
  const [identityPort, chatPort, mcpPort, gatewayPort, agentPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const adminPassword = `bench-${randomBytes(9).toString("base64url")}`;
  const gatewaySecret = `bench-${randomBytes(12).toString("base64url")}`;
  const agentSecret = `bench-${randomBytes(12).toString("base64url")}`;
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const env: Record<string, string> = {
    IDENTITY_PORT: String(identityPort),
    CHAT_PORT: String(chatPort),
    MCP_PORT: String(mcpPort),
    GATEWAY_PORT: String(gatewayPort),
    AGENT_PORT: String(agentPort),
    GATEWAY_CLIENT_SECRET: gatewaySecret,
    AGENT_CLIENT_SECRET: agentSecret,
    SEED_ADMIN_PASSWORD: adminPassword,
    // The level a deployment runs at: a per-call line written at info is part of the hop's cost.
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "info",
    // "1.1" measures the gateway as it was before it spoke HTTP/2 to the MCP server.
    ...(process.env.BENCH_MCP_HTTP_VERSION ? { MCP_HTTP_VERSION: process.env.BENCH_MCP_HTTP_VERSION } : {}),
    ...(profileDir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profileDir}` } : {}),
  };
  const stack = await spawnQuietStack({
    env,
    // The runner starts the MCP server, the gateway and the agent together: the agent's registry
    // names the agent in the service credential, and the MCP server must have its revocation feed.
    ready: async () =>
      (await connectHealthServing(gatewayUrl)) &&
      (await connectHealthServing(`http://127.0.0.1:${agentPort}`)) &&
      (await fetch(`http://127.0.0.1:${mcpPort}/readyz`)).ok,
  });
  return {
    pid: stack.pid,
    stop: () => stack.stop(),
    env,
    identityUrl: `http://127.0.0.1:${identityPort}`,
    gatewayUrl,
    mcpPort,
    mcpResource: `http://127.0.0.1:${mcpPort}/mcp`,
    adminPassword,
    gatewaySecret,
    agentSecret,
  };
}
