import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The real MCP server (`services/mcp-server/main.ts`) as its own process on loopback. */
export interface McpServerProcess {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** Its resource URI: the audience its tokens must carry, and where MCP is served. */
  readonly resource: string;
  stop(): Promise<void>;
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const ENTRY = fileURLToPath(new URL("../mcp-server/main.ts", import.meta.url));

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function waitUntilHealthy(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the MCP server exited with code ${child.exitCode}`);
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the MCP server did not answer ${url}/healthz within ${timeoutMs} ms`);
}

/**
 * Starts the server with a minimal environment (`env` on top of a fresh PGlite DATA_DIR, so the
 * caller's DATABASE_URL or MCP_* settings do not leak in), and waits until it answers.
 */
export async function spawnMcpServer(env: Record<string, string>): Promise<McpServerProcess> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "bench-mcp-"));
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ["--import", "tsx", ENTRY], {
    cwd: ROOT,
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      NODE_ENV: "development",
      HOST: "127.0.0.1",
      MCP_PORT: String(port),
      DATA_DIR: dataDir,
      ...env,
    },
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitUntilHealthy(url, child, 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, resource: `${url}/mcp`, stop };
}
