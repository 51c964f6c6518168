import { readFileSync } from "node:fs";

/**
 * `tsx services/bench/mcp-profile-breakdown.ts <file.cpuprofile> <calls>`: the per-call breakdown
 * of docs/performance.md ("Per-call breakdown: MCP server") from a `--cpu-prof` profile of the MCP
 * server taken under `npm run bench -- mcp` (MCP_BENCH_CPU_PROF=<dir>). Each sample goes to the
 * first category (in the order below) that any frame of its stack belongs to, so a database call
 * made while writing the audit row counts as database, a log line written by the tool runner as
 * logging. Samples before the first request are start-up and left out.
 */
interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const CATEGORIES: [string, (f: CallFrame) => boolean][] = [
  ["idle", (f) => f.functionName === "(idle)"],
  ["GC", (f) => f.functionName === "(garbage collector)"],
  ["logging (pino, sanitize/scrub, the write)", (f) => /\/pino|sonic-boom|kit\/log\//.test(f.url)],
  [
    "database (PGlite engine or pg driver, kit/db)",
    (f) => /electric-sql\/pglite|kit\/db\/|node_modules\/pg/.test(f.url),
  ],
  [
    "auth (JWT verification, cache, revocation)",
    (f) => /kit\/auth\/|\/jose\/|mcp-server\/auth\//.test(f.url),
  ],
  [
    "audit row (build, canonical JSON, hash)",
    (f) => /mcp-server\/audit\/|audit-log\.ts|audit-head\.ts/.test(f.url),
  ],
  ["schema validation (zod, ajv)", (f) => /\/zod\/|\/ajv/.test(f.url)],
  ["telemetry (OTel spans, prom-client)", (f) => /@opentelemetry|prom-client|telemetry/.test(f.url)],
  ["SDK (@modelcontextprotocol)", (f) => /@modelcontextprotocol/.test(f.url)],
  [
    "HTTP (node:http, net, streams, undici)",
    (f) => /node:_http|node:internal\/http|node:net|undici|streams/.test(f.url),
  ],
  ["propagation (call scope, trace join)", (f) => /kit\/propagation/.test(f.url)],
  ["tool runner, endpoint, handler", (f) => /services\/mcp-server\//.test(f.url)],
];

const [file, callsArg] = process.argv.slice(2);
if (!file || !callsArg) {
  console.error("usage: mcp-profile-breakdown.ts <file.cpuprofile> <calls served while profiled>");
  process.exit(2);
}
const calls = Number(callsArg);
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const stackOf = (id: number): CallFrame[] => {
  const frames: CallFrame[] = [];
  for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
    const node = byId.get(x);
    if (node) frames.push(node.callFrame);
  }
  return frames;
};

const first = profile.samples.findIndex((s) => stackOf(s).some((f) => f.functionName === "handleMcp"));
const totals = new Map<string, number>();
let busy = 0;
for (let i = Math.max(0, first); i < profile.samples.length; i++) {
  const ms = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000;
  const stack = stackOf(profile.samples[i] as number);
  const category = CATEGORIES.find(([, test]) => stack.some(test))?.[0] ?? "other";
  totals.set(category, (totals.get(category) ?? 0) + ms);
  if (category !== "idle") busy += ms;
}
console.log(`busy ${busy.toFixed(0)} ms over ${calls} calls: ${(busy / calls).toFixed(3)} ms per call`);
for (const [category, ms] of [...totals].sort((a, b) => b[1] - a[1])) {
  if (category === "idle") continue;
  console.log(
    `${((100 * ms) / busy).toFixed(1).padStart(5)} %  ${(ms / calls).toFixed(3).padStart(7)} ms  ${category}`,
  );
}
