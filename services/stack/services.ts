import type { Config } from "../kit/config/config.js";

/** One process of the stack, in start order (the identity provider first: others fetch its JWKS). */
export interface StackProcess {
  readonly name: string;
  readonly entry: string;
  readonly port: (config: Config) => number;
}

export const STACK: readonly StackProcess[] = [
  { name: "chat", entry: "services/chat/main.ts", port: (c) => c.CHAT_PORT },
  { name: "mcp-server", entry: "services/mcp-server/main.ts", port: (c) => c.MCP_PORT },
  { name: "mcp-gateway", entry: "services/mcp-gateway/main.ts", port: (c) => c.GATEWAY_PORT },
  { name: "agent", entry: "services/agent/main.ts", port: (c) => c.AGENT_PORT },
];
