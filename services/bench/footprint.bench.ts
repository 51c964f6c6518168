import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "#kit/testing/free-port.js";
import { processAlive } from "#services/stack/testing/stack-harness.js";
import { memoryOf, processTree, STACK_SERVICES, stackPartOf } from "./process-tree.js";

/** The targets (docs/performance.md, "What each figure is held to"). */
const TARGET = { idleRssMb: 600, serviceRssMb: 100, coldStartS: 15, warmStartS: 5 } as const;
/** How long the stack idles before its memory is read. */
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 30);
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * docs/performance.md, "Idle memory of `npm start`": `npm start` exactly as a user types it, on a
 * new DATA_DIR and then again on the same one (ports of its own, nothing else set: the embedded
 * defaults); the time until the runner's `stack ready` line, and, after `BENCH_IDLE_S` seconds idle,
 * the RSS and PSS of every process under npm (npm included), beside the targets.
 */
export async function benchFootprint(): Promise<void> {
  const loadBefore = loadavg()[0] ?? 0;
  const dataDir = mkdtempSync(join(tmpdir(), "bench-footprint-"));
  try {
    const ports = await stackPorts();
    const first = await startNpm(dataDir, ports);
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const memory = stackMemory(first.child.pid ?? 0);
    await first.stop();
    const again = await startNpm(dataDir, ports);
    await again.stop();
    report(loadBefore, first, again, memory);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

interface RunningNpm {
  readonly child: ChildProcess;
  /** The runner's own figure: from its start to `stack ready`. */
  readonly readyMs: number;
  /** From the command to `stack ready`, npm's start included. */
  readonly wallMs: number;
  /** Whether `npm start` compiled the sources on this start (no tree for them yet). */
  readonly compiled: boolean;
  stop(): Promise<void>;
}

async function stackPorts(): Promise<Record<string, string>> {
  const names = ["IDENTITY_PORT", "CHAT_PORT", "AGENT_PORT", "GATEWAY_PORT", "MCP_PORT"];
  const ports: Record<string, string> = {};
  for (const name of names) ports[name] = String(await freePort());
  return ports;
}

async function startNpm(dataDir: string, ports: Record<string, string>): Promise<RunningNpm> {
  const startedAt = Date.now();
  const child = spawn("npm", ["start"], {
    cwd: ROOT,
    // In the bench's process group: a Ctrl-C on the bench reaches npm and the stack too.
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      DATA_DIR: dataDir,
      LOG_FORMAT: "json",
      ...ports,
    },
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (c: string) => {
    stdout += c;
  });
  child.stderr?.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    const pids = processTree(child.pid ?? 0).map((p) => p.pid);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    // npm may exit before the runner has drained: wait for every process of the stack.
    const deadline = Date.now() + 60_000;
    while (pids.some(processAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const pid of pids.filter(processAlive)) process.kill(pid, "SIGKILL");
  };
  const deadline = Date.now() + 180_000;
  let ready: { ready_ms?: number } | undefined;
  while (!ready) {
    const line = stdout.split("\n").find((l) => l.includes('"msg":"stack ready"'));
    if (line) ready = JSON.parse(line) as { ready_ms?: number };
    else if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`npm start did not get ready: ${stderr.slice(-2000)}${stdout.slice(-2000)}`);
    } else await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    readyMs: ready.ready_ms ?? Number.NaN,
    wallMs: Date.now() - startedAt,
    compiled: stderr.includes("npm start: compiled"),
    stop,
  };
}

interface ProcessMemory {
  readonly name: string;
  readonly count: number;
  readonly rss: number;
  readonly pss: number;
  readonly uss: number;
  /** RSS that is the process's executable (the node binary, PostgreSQL's), the same pages in each. */
  readonly executableRss: number;
}

/** Every process under npm, by what it is, summed. */
function stackMemory(npmPid: number): ProcessMemory[] {
  const byName = new Map<string, ProcessMemory>();
  for (const p of processTree(npmPid)) {
    const m = memoryOf(p.pid);
    if (!m) continue;
    const name = nameOf(p.pid, npmPid, p.cmdline);
    const prev = byName.get(name) ?? { name, count: 0, rss: 0, pss: 0, uss: 0, executableRss: 0 };
    byName.set(name, {
      name,
      count: prev.count + 1,
      rss: prev.rss + m.rss,
      pss: prev.pss + m.pss,
      uss: prev.uss + m.uss,
      executableRss: prev.executableRss + m.executableRss,
    });
  }
  return [...byName.values()];
}

function nameOf(pid: number, npmPid: number, cmdline: string): string {
  if (pid === npmPid) return "npm";
  const part = stackPartOf(cmdline);
  if (part === "postgres") return "PostgreSQL (every process)";
  if (part) return part;
  // The runner, and the shell npm runs it under.
  if (cmdline.includes("scripts/start.mjs")) return "runner (scripts/start.mjs, npm's sh)";
  return cmdline.split("\0")[0] ?? "?";
}

const mb = (bytes: number) => Math.round(bytes / (1024 * 1024));
const mark = (ok: boolean) => (ok ? "✓" : "✗");

type Row = [figure: string, measured: string, target: string];

function report(loadBefore: number, first: RunningNpm, again: RunningNpm, memory: ProcessMemory[]): void {
  console.log(
    `\n## npm start: footprint and start-up (load average ${loadBefore.toFixed(2)} at start, ${(loadavg()[0] ?? 0).toFixed(2)} at end)`,
  );
  console.log(`memory after ${IDLE_S} s idle, every process under npm start (/proc/<pid>/smaps_rollup):`);
  for (const m of memory.sort((a, b) => b.rss - a.rss)) {
    const count = m.count > 1 ? ` (${m.count} processes)` : "";
    console.log(
      `  ${`${m.name}${count}`.padEnd(42)} RSS ${String(mb(m.rss)).padStart(5)} MB   PSS ${String(mb(m.pss)).padStart(5)} MB   USS ${String(mb(m.uss)).padStart(5)} MB   of RSS, its executable ${String(mb(m.executableRss)).padStart(4)} MB`,
    );
  }
  const firstLabel = first.compiled ? "compiled the sources" : "the sources' compiled tree already there";
  const rows: Row[] = [
    ...memoryRows(memory),
    [
      `first start, new DATA_DIR (${firstLabel})`,
      `${(first.wallMs / 1000).toFixed(1)} s (runner: ready_ms ${first.readyMs})`,
      `≤ ${TARGET.coldStartS} s ${mark(first.wallMs <= TARGET.coldStartS * 1000)}`,
    ],
    [
      "start again on the same DATA_DIR",
      `${(again.wallMs / 1000).toFixed(1)} s (runner: ready_ms ${again.readyMs})`,
      `≤ ${TARGET.warmStartS} s ${mark(again.wallMs <= TARGET.warmStartS * 1000)}`,
    ],
  ];
  console.log("\n| figure | measured | target |\n|---|---|---|");
  for (const [figure, measured, target] of rows) console.log(`| ${figure} | ${measured} | ${target} |`);
}

/**
 * The sums: RSS as the target is written, and beside it what RSS counts many times (the node
 * binary's pages are in the RSS of every Node process) and the sums that count each page once.
 */
function memoryRows(memory: readonly ProcessMemory[]): Row[] {
  const sum = (field: "rss" | "pss" | "uss" | "executableRss" | "count") =>
    memory.reduce((a, m) => a + m[field], 0);
  const services = memory.filter((m) => (STACK_SERVICES as readonly string[]).includes(m.name));
  const largest = services.reduce<ProcessMemory | undefined>(
    (a, m) => (a && a.rss >= m.rss ? a : m),
    undefined,
  );
  return [
    [
      "idle RSS, every process summed",
      `${mb(sum("rss"))} MB`,
      `≤ ${TARGET.idleRssMb} MB ${mark(mb(sum("rss")) <= TARGET.idleRssMb)}`,
    ],
    [
      `  of which the executables' pages (node, postgres: one copy in memory, in the RSS of each of ${sum("count")} processes)`,
      `${mb(sum("executableRss"))} MB`,
      "—",
    ],
    [
      "idle PSS, every process summed (a page shared by n processes counts 1/n in each: the stack's memory)",
      `${mb(sum("pss"))} MB`,
      `(≤ ${TARGET.idleRssMb} MB ${mark(mb(sum("pss")) <= TARGET.idleRssMb)})`,
    ],
    [
      "idle USS, every process summed (private pages only: what stopping the stack frees)",
      `${mb(sum("uss"))} MB`,
      "—",
    ],
    [
      "largest service RSS",
      largest ? `${mb(largest.rss)} MB (${largest.name})` : "—",
      `≤ ${TARGET.serviceRssMb} MB ${mark(largest !== undefined && mb(largest.rss) <= TARGET.serviceRssMb)}`,
    ],
  ];
}
