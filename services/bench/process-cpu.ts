import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every Linux Node supports). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system, ms) used so far by the processes whose command line contains
 * `entry` — Linux /proc; undefined elsewhere. Lets a bench say where the CPU of a call goes
 * across processes, which latency alone cannot tell on a machine with fewer cores than processes.
 */
export function processCpuMs(entry: string): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  let ticks = 0;
  for (const pid of pids) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(entry)) continue;
      // Fields after the command name (which may contain spaces) start after the last ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      // the process ended meanwhile
    }
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** CPU ms per call of each named process over `run`, plus this process's own. */
export async function cpuPerCall(
  entries: Record<string, string>,
  run: () => Promise<number>,
): Promise<Record<string, number> | undefined> {
  const before = Object.fromEntries(
    Object.entries(entries).map(([name, entry]) => [name, processCpuMs(entry)]),
  );
  const selfBefore = process.cpuUsage();
  const calls = await run();
  const self = process.cpuUsage(selfBefore);
  const out: Record<string, number> = { "bench client": (self.user + self.system) / 1000 / calls };
  for (const [name, entry] of Object.entries(entries)) {
    const b = before[name];
    const a = processCpuMs(entry);
    if (a === undefined || b === undefined) return undefined;
    out[name] = (a - b) / calls;
  }
  return out;
}
