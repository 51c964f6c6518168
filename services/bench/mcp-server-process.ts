import { freePort } from "#kit/testing/free-port.js";
import { spawnBenchProcess } from "./service-process.js";

/** The real MCP server (`services/mcp-server/main.ts`) as its own process on loopback. */
export interface McpServerProcess {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** Its resource URI: the audience its tokens must carry, and where MCP is served. */
  readonly resource: string;
  stop(): Promise<void>;
}

/** Starts the server on a free port with `env` on a fresh PGlite and waits for its /readyz. */
export async function spawnMcpServer(env: Record<string, string>): Promise<McpServerProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = await spawnBenchProcess({
    entry: "services/mcp-server/main.ts",
    env: { MCP_PORT: String(port), ...env },
    ready: async () => (await fetch(`${url}/readyz`)).ok,
  });
  return { url, resource: `${url}/mcp`, stop: () => proc.stop() };
}
