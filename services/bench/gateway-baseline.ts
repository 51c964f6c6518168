import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { connectHealthServing } from "./service-process.js";

/** A second gateway, from another checkout, beside the stack's: the same calls, the same moment. */
export interface BaselineGateway {
  readonly url: string;
  readonly pid: number;
  /** Its main module's path: what its command line holds, and ours does not. */
  readonly entry: string;
  stop(): Promise<void>;
}

/**
 * `BENCH_GATEWAY_BASELINE=<checkout>`: starts that checkout's `services/mcp-gateway/main.ts` on
 * `port` with the stack's own settings (same identity provider, same MCP server, same secret), so a
 * change to the gateway is measured against the code before it in one run, arms alternated — on a
 * shared machine, runs minutes apart are not comparable (docs/performance.md).
 */
export async function startBaselineGateway(
  checkout: string,
  port: number,
  env: Record<string, string>,
): Promise<BaselineGateway> {
  const entry = join(checkout, "services/mcp-gateway/main.ts");
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", entry], {
    cwd: checkout,
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      NODE_ENV: "development",
      HOST: "127.0.0.1",
      LOG_FORMAT: "json",
      ...env,
      GATEWAY_PORT: String(port),
    },
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`baseline gateway exited with code ${child.exitCode}`);
    if (await connectHealthServing(url).catch(() => false)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error("baseline gateway was not ready within 60 s");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, pid: child.pid ?? 0, entry, stop };
}
