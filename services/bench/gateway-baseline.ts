import { join } from "node:path";
import { connectHealthServing, spawnBenchProcess } from "./service-process.js";

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
  const url = `http://127.0.0.1:${port}`;
  const proc = await spawnBenchProcess({
    entry,
    label: "baseline gateway",
    cwd: checkout,
    env: { LOG_FORMAT: "json", ...env, GATEWAY_PORT: String(port) },
    ready: () => connectHealthServing(url),
    stdout: "discard",
  });
  return { url, pid: proc.pid, entry, stop: () => proc.stop() };
}
