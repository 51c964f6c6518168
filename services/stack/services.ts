import type { Config } from "../kit/config/config.js";

/** One process of the stack. */
export interface StackProcess {
  readonly name: string;
  readonly entry: string;
  readonly port: (config: Config) => number;
}

const identity: StackProcess = {
  name: "identity",
  entry: "services/identity/main.ts",
  port: (c) => c.IDENTITY_PORT,
};
const chat: StackProcess = { name: "chat", entry: "services/chat/main.ts", port: (c) => c.CHAT_PORT };
const mcpServer: StackProcess = {
  name: "mcp-server",
  entry: "services/mcp-server/main.ts",
  port: (c) => c.MCP_PORT,
};
const gateway: StackProcess = {
  name: "mcp-gateway",
  entry: "services/mcp-gateway/main.ts",
  port: (c) => c.GATEWAY_PORT,
};
const agent: StackProcess = { name: "agent", entry: "services/agent/main.ts", port: (c) => c.AGENT_PORT };

/**
 * Start stages: each stage's processes start together once the previous stage answers. The identity
 * provider first: every other service fetches its JWKS, gets its credential there and follows its
 * revocation feed; the other four reach each other only per call, so they start in parallel.
 */
export const STAGES: readonly (readonly StackProcess[])[] = [[identity], [chat, mcpServer, gateway, agent]];

/** Every process, in start order. */
export const STACK: readonly StackProcess[] = STAGES.flat();
