import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/**
 * Where a gateway call's CPU goes, for docs/performance.md ("Per-call breakdown: gateway"). Each
 * sample is charged to the first frame, from the leaf up, that belongs to a part of the hop: Node's
 * own internals (streams, timers, async hooks) are charged to the part that called them.
 */
const PARTS: ReadonlyArray<readonly [string, (f: CallFrame) => boolean]> = [
  ["logging (pino, kit/log)", (f) => /\/(pino|sonic-boom|thread-stream)\/|\/kit\/log\//.test(f.url)],
  [
    "telemetry (OpenTelemetry spans, Prometheus metrics)",
    (f) => /\/@opentelemetry\/|\/prom-client\/|\/kit\/telemetry\/|mcp-gateway\/telemetry\.ts/.test(f.url),
  ],
  ["auth: verify user token + agent credential, revocation", (f) => /\/kit\/auth\/|\/jose\//.test(f.url)],
  [
    "kit interceptors and call scope (propagation)",
    (f) => /\/kit\/propagation\/|\/kit\/server\//.test(f.url),
  ],
  [
    "exchange-cache lookup",
    (f) => /mcp-token-source\.ts|renewing-token-cache\.ts|token-exchange-client\.ts/.test(f.url),
  ],
  [
    "gateway handler + session pool",
    (f) =>
      /mcp-gateway\/(gateway-service|session\/(session-pool|mcp-session|call-questions|server-era))\.ts/.test(
        f.url,
      ),
  ],
  [
    "MCP SDK client (request, schema validation)",
    (f) => /\/@modelcontextprotocol\/|\/ajv\/|\/zod\//.test(f.url),
  ],
  [
    "HTTP/1.1 out to the MCP server (node-http-fetch, node:http)",
    (f) => /node-http-fetch\.ts|^node:_http_|^node:http$|^node:internal\/http$|^node:net$|undici/.test(f.url),
  ],
  [
    "Connect server in (HTTP/2, protobuf)",
    (f) => /\/@connectrpc\/|\/@bufbuild\/|^node:internal\/http2|^node:http2$/.test(f.url),
  ],
];

const JSON_BUILTINS = new Set(["parse", "stringify", "JSONParse", "JSONStringify"]);

export interface ProfileBreakdown {
  /** CPU ms per call by part, largest first. */
  readonly parts: ReadonlyArray<readonly [string, number]>;
  /** The hottest functions by self time, ms per call. */
  readonly top: ReadonlyArray<readonly [string, number]>;
  readonly totalMsPerCall: number;
}

/** Breaks the samples of `file` taken within [fromUs, toUs] (monotonic clock) down per call. */
export function breakDown(file: string, fromUs: number, toUs: number, calls: number): ProfileBreakdown {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const partOf = new Map<number, string>();
  const classify = (id: number): string => {
    const known = partOf.get(id);
    if (known) return known;
    const leaf = byId.get(id)?.callFrame;
    let part = "other (event loop, Node internals, V8)";
    if (leaf?.functionName === "(garbage collector)") part = "garbage collection";
    else if (leaf && leaf.url === "" && JSON_BUILTINS.has(leaf.functionName)) part = "JSON encode/decode";
    else {
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const frame = byId.get(at)?.callFrame;
        const hit = frame && PARTS.find(([, test]) => test(frame));
        if (hit) {
          part = hit[0];
          break;
        }
      }
    }
    partOf.set(id, part);
    return part;
  };
  const parts = new Map<string, number>();
  const self = new Map<string, number>();
  let t = profile.startTime;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (t < fromUs || t > toUs) continue;
    const id = profile.samples[i] as number;
    const frame = byId.get(id)?.callFrame;
    if (!frame || frame.functionName === "(idle)") continue;
    const ms = delta / 1000;
    total += ms;
    const part = classify(id);
    parts.set(part, (parts.get(part) ?? 0) + ms);
    const name = `${frame.functionName || "(anonymous)"} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
    self.set(name, (self.get(name) ?? 0) + ms);
  }
  const perCall = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => [k, v / calls] as const);
  return { parts: perCall(parts, 99), top: perCall(self, 15), totalMsPerCall: total / calls };
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) return url.slice(nm + "node_modules/".length);
  const services = url.indexOf("/services/");
  return services >= 0 ? url.slice(services + 1) : url;
}

/** The `.cpuprofile` a process with `pid` wrote into `dir` (Node names them CPU.<date>.<time>.<pid>.…). */
export function profileOf(dir: string, pid: number): string | undefined {
  const name = readdirSync(dir).find((f) => f.endsWith(".cpuprofile") && f.split(".")[3] === String(pid));
  return name ? join(dir, name) : undefined;
}
