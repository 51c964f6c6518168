import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import type { McpBenchChild } from "./mcp-child.js";

/** One server under the `mcp` bench: where it serves, its process, and how to call get_ticket. */
export interface McpTarget {
  readonly label: string;
  readonly url: URL;
  readonly process: McpBenchChild;
  /** Authorization header value of every request, if any. */
  readonly authorization?: string;
  readonly ticketId: number;
  /** CPU ms so far of the database it runs on, when the bench can see that server's processes. */
  readonly databaseCpuMs?: () => number;
}

/**
 * An SDK v2 client as the product's gateway builds one (`versionNegotiation: auto`: a 2026-07-28
 * server is probed once with `server/discover`, then every call is one stateless POST).
 */
export async function connectV2(target: McpTarget): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(target.url, {
    ...(target.authorization ? { requestInit: { headers: { authorization: target.authorization } } } : {}),
  });
  const client = new Client({ name: "bench", version: "1.0.0" }, { versionNegotiation: { mode: "auto" } });
  await client.connect(transport);
  if (client.getNegotiatedProtocolVersion() !== "2026-07-28") {
    throw new Error(`${target.label} negotiated ${client.getNegotiatedProtocolVersion()}, not 2026-07-28`);
  }
  return client;
}

/** One get_ticket; its latency in ms. A refused or failed call must not pass for a fast one. */
export async function callGetTicket(client: Client, target: McpTarget): Promise<number> {
  const started = performance.now();
  const r = await client.callTool({ name: "get_ticket", arguments: { ticket_id: target.ticketId } });
  const ms = performance.now() - started;
  const got = (r.structuredContent as { ticket?: { id?: number } } | undefined)?.ticket?.id;
  if (r.isError || got !== target.ticketId) {
    throw new Error(`${target.label}: get_ticket failed in the bench: ${JSON.stringify(r.content)}`);
  }
  return ms;
}

export interface LoadResult {
  readonly calls: number;
  /** Calls of the warm-up too: what the server served in all (for a profile's per-call figures). */
  readonly allCalls: number;
  readonly seconds: number;
  /** Server process CPU ms per call over the measured window. */
  readonly serverCpuMs: number;
  /** This (client) process's CPU ms per call over the window. */
  readonly clientCpuMs: number;
  /** The database server's CPU ms per call over the window (NaN when not known). */
  readonly databaseCpuMs: number;
  /** Each measured call's latency (ms). */
  readonly latencies: number[];
}

/**
 * `clients.length` callers in a closed loop of `call` (which returns its latency and throws on a
 * failed call) for `seconds` (after `warmSeconds` unmeasured): throughput, latencies and the
 * server's CPU per call over the measured window only.
 */
export async function closedLoop(
  target: Pick<McpTarget, "process" | "databaseCpuMs">,
  clients: readonly Client[],
  seconds: number,
  warmSeconds: number,
  call: (client: Client) => Promise<number>,
): Promise<LoadResult> {
  let measuring = false;
  let calls = 0;
  let allCalls = 0;
  const latencies: number[] = [];
  let stopAt = performance.now() + (warmSeconds + seconds) * 1000;
  const worker = async (client: Client) => {
    while (performance.now() < stopAt) {
      const ms = await call(client);
      allCalls++;
      if (measuring) {
        calls++;
        latencies.push(ms);
      }
    }
  };
  const running = Promise.all(clients.map((c) => worker(c)));
  await new Promise((r) => setTimeout(r, warmSeconds * 1000));
  const cpu0 = target.process.cpuMs();
  const db0 = target.databaseCpuMs?.() ?? Number.NaN;
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  measuring = true;
  stopAt = t0 + seconds * 1000;
  await running;
  const wall = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(self0);
  const serverCpu = target.process.cpuMs() - cpu0;
  const databaseCpu = (target.databaseCpuMs?.() ?? Number.NaN) - db0;
  return {
    calls,
    allCalls,
    seconds: wall,
    serverCpuMs: serverCpu / Math.max(1, calls),
    clientCpuMs: (self.user + self.system) / 1000 / Math.max(1, calls),
    databaseCpuMs: databaseCpu / Math.max(1, calls),
    latencies,
  };
}
