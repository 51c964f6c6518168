import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every Linux Node supports). */
const TICKS_PER_SECOND = 100;

interface Stat {
  readonly ppid: number;
  readonly cpuMs: number;
}

function statOf(pid: string): Stat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(f[1]), cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_SECOND };
  } catch {
    return undefined; // ended meanwhile
  }
}

/**
 * CPU ms used so far by each process of ours running `entry`: only `roots` (the bench's own stack
 * runner, or a process it started) and their descendants count. On a machine shared with other engineers, their test stacks run
 * the same entry files; matching the command line alone counted their CPU as ours.
 */
function cpuByPid(roots: readonly number[], entry: string): Map<number, number> | undefined {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  const stats = new Map<number, Stat>();
  for (const p of pids) {
    const s = statOf(p);
    if (s) stats.set(Number(p), s);
  }
  const isOurs = (pid: number) => {
    for (let at = pid, depth = 0; at > 1 && depth < 16; depth++) {
      if (roots.includes(at)) return true;
      at = stats.get(at)?.ppid ?? 0;
    }
    return false;
  };
  const out = new Map<number, number>();
  for (const [pid, s] of stats) {
    if (!isOurs(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(entry)) out.set(pid, s.cpuMs);
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

/** CPU ms per call of each named process under `roots` over `run`, plus this process's own ("bench client"). */
export async function cpuPerCallUnder(
  roots: readonly number[],
  entries: Record<string, string>,
  run: () => Promise<number>,
): Promise<Record<string, number> | undefined> {
  const before = Object.entries(entries).map(
    ([name, entry]) => [name, entry, cpuByPid(roots, entry)] as const,
  );
  const selfBefore = process.cpuUsage();
  const calls = await run();
  const self = process.cpuUsage(selfBefore);
  const out: Record<string, number> = { "bench client": (self.user + self.system) / 1000 / calls };
  for (const [name, entry, b] of before) {
    const a = cpuByPid(roots, entry);
    if (!a || !b) return undefined;
    let ms = 0;
    // A process restarted meanwhile counts from 0.
    for (const [pid, cpu] of a) ms += cpu - (b.get(pid) ?? 0);
    out[name] = ms / calls;
  }
  return out;
}

/** Pids of the processes of ours (under `roots`) running `entry`. */
export function pidsUnder(roots: readonly number[], entry: string): number[] | undefined {
  const m = cpuByPid(roots, entry);
  return m ? [...m.keys()] : undefined;
}
