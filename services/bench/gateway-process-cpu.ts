import { processTree } from "./process-tree.js";

/**
 * CPU ms used so far by each process of ours running `entry`: only `roots` (the bench's own stack
 * runner, or a process it started) and their descendants count. On a machine shared with other engineers, their test stacks run
 * the same entry files; matching the command line alone counted their CPU as ours.
 */
function cpuByPid(roots: readonly number[], entry: string): Map<number, number> | undefined {
  const out = new Map<number, number>();
  try {
    for (const root of roots) {
      for (const p of processTree(root)) if (p.cmdline.includes(entry)) out.set(p.pid, p.cpuMs);
    }
  } catch {
    return undefined; // no /proc
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
