import { fileURLToPath } from "node:url";
import type { Config } from "#kit/config/index.js";

/** One process of the stack. */
export interface StackProcess {
  readonly name: string;
  /** Absolute path of its main module: TypeScript beside this file, or JavaScript in a build (`npm run build`). */
  readonly entry: string;
  readonly port: (config: Config) => number;
}

// The runner's own extension says which: `npm start` runs the sources under tsx, dist/ the compiled build.
const EXTENSION = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const entry = (service: string) => fileURLToPath(new URL(`../${service}/main${EXTENSION}`, import.meta.url));

const identity: StackProcess = {
  name: "identity",
  entry: entry("identity"),
  port: (c) => c.IDENTITY_PORT,
};
const chat: StackProcess = { name: "chat", entry: entry("chat"), port: (c) => c.CHAT_PORT };
const mcpServer: StackProcess = {
  name: "mcp-server",
  entry: entry("mcp-server"),
  port: (c) => c.MCP_PORT,
};
const gateway: StackProcess = {
  name: "mcp-gateway",
  entry: entry("mcp-gateway"),
  port: (c) => c.GATEWAY_PORT,
};
const agent: StackProcess = { name: "agent", entry: entry("agent"), port: (c) => c.AGENT_PORT };

/**
 * Start stages: each stage's processes start together once the previous stage answers. The identity
 * provider first: every other service fetches its JWKS, gets its credential there and follows its
 * revocation feed; the other four reach each other only per call, so they start in parallel.
 */
export const STAGES: readonly (readonly StackProcess[])[] = [[identity], [chat, mcpServer, gateway, agent]];

/** Every service, in start order. */
export const STACK: readonly StackProcess[] = STAGES.flat();
