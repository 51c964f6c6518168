import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every Linux Node supports). */
const TICKS_PER_SECOND = 100;

/** One process as /proc shows it. */
export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  /** CPU used so far by the process itself (utime + stime). */
  readonly cpuMs: number;
  /** The same with its reaped children's (cutime + cstime): PostgreSQL's ended backends, say. */
  readonly cpuWithChildrenMs: number;
  /** Its arguments, NUL-separated as in /proc/<pid>/cmdline. */
  readonly cmdline: string;
}

function infoOf(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const own = Number(f[11]) + Number(f[12]);
    const children = Number(f[13]) + Number(f[14]);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    const ms = (ticks: number) => (ticks * 1000) / TICKS_PER_SECOND;
    return { pid, ppid: Number(f[1]), cpuMs: ms(own), cpuWithChildrenMs: ms(own + children), cmdline };
  } catch {
    return undefined; // ended meanwhile
  }
}

/** The services `npm start` runs, each its own process (`services/<name>/main.*`). */
export const STACK_SERVICES = ["identity", "chat", "agent", "mcp-gateway", "mcp-server"] as const;

/**
 * Which part of a stack a process is, by its command line: a service by its entry file, PostgreSQL
 * by its binary (the server) or its title (a backend or an auxiliary process: "postgres: …").
 */
export function stackPartOf(cmdline: string): (typeof STACK_SERVICES)[number] | "postgres" | undefined {
  const service = STACK_SERVICES.find((s) => cmdline.includes(`/services/${s}/main.`));
  if (service) return service;
  return /(^|\/)postgres(\0|:)/.test(cmdline) ? "postgres" : undefined;
}

/**
 * `root` and every process below it, by parent links: never by command line, since other stacks on
 * a shared host run the same files.
 */
export function processTree(root: number): ProcessInfo[] {
  const all = new Map<number, ProcessInfo>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const info = infoOf(Number(entry));
    if (info) all.set(info.pid, info);
  }
  const under = (pid: number) => {
    for (let at = pid, depth = 0; at > 1 && depth < 32; depth++) {
      if (at === root) return true;
      at = all.get(at)?.ppid ?? 0;
    }
    return false;
  };
  return [...all.values()].filter((p) => under(p.pid));
}

/**
 * CPU ms used so far by `root` and every process under it, ended ones included as far as their
 * parent reaped them (PostgreSQL's postmaster reaps its backends: its children's time).
 */
export function treeCpuMs(root: number): number {
  let ms = 0;
  for (const p of processTree(root)) ms += p.pid === root ? p.cpuWithChildrenMs : p.cpuMs;
  return ms;
}

/**
 * Memory of one process (/proc/<pid>/smaps_rollup, /proc/<pid>/smaps), in bytes: resident (RSS),
 * proportional (PSS: a page shared by n processes counts 1/n in each), private (USS: what its exit
 * would free), and how much of its RSS is its own executable's pages (the node binary's code and
 * data: one copy in memory, shared by every Node process, yet in each one's RSS).
 */
export function memoryOf(
  pid: number,
): { rss: number; pss: number; uss: number; executableRss: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
    return {
      rss: kb("Rss") * 1024,
      pss: kb("Pss") * 1024,
      uss: (kb("Private_Clean") + kb("Private_Dirty")) * 1024,
      executableRss: executableRssOf(pid),
    };
  } catch {
    return undefined;
  }
}

function executableRssOf(pid: number): number {
  let executable: string;
  try {
    executable = readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return 0;
  }
  let inExecutable = false;
  let kb = 0;
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    // A mapping's header: "start-end perms offset dev inode path"; its fields follow on their own lines.
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) inExecutable = header[1] === executable;
    else if (inExecutable && line.startsWith("Rss:")) kb += Number(/(\d+)/.exec(line)?.[1] ?? 0);
  }
  return kb * 1024;
}
