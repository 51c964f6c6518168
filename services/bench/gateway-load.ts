import { cpuPerCallUnder } from "./gateway-process-cpu.js";

/** One closed-loop throughput run: calls per second, and CPU ms per call of each named process. */
export interface LoadResult {
  readonly callsPerSecond: number;
  readonly cpu: Record<string, number> | undefined;
}

/**
 * `concurrency` workers each send their next call as soon as the previous answer arrives, for
 * `seconds`; the CPU each process (and the bench itself) spent over the run is divided by the calls.
 */
export async function closedLoop(
  roots: readonly number[],
  call: () => Promise<void>,
  concurrency: number,
  seconds: number,
  processes: Record<string, string>,
): Promise<LoadResult> {
  let done = 0;
  const cpu = await cpuPerCallUnder(roots, processes, async () => {
    const until = performance.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) {
          await call();
          done++;
        }
      }),
    );
    return done;
  });
  return { callsPerSecond: done / seconds, cpu };
}

/**
 * Runs the two arms `rounds` times each, alternating which goes first, so a neighbour's burst on a
 * shared machine lands on both; the ratio is taken per round and its median reported.
 */
export async function pairedLoad(
  roots: readonly number[],
  arms: { readonly via: () => Promise<void>; readonly direct: () => Promise<void> },
  concurrency: number,
  seconds: number,
  rounds: number,
  processes: Record<string, string>,
): Promise<{ via: LoadResult[]; direct: LoadResult[] }> {
  const via: LoadResult[] = [];
  const direct: LoadResult[] = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      via.push(await closedLoop(roots, arms.via, concurrency, seconds, processes));
      direct.push(await closedLoop(roots, arms.direct, concurrency, seconds, processes));
    } else {
      direct.push(await closedLoop(roots, arms.direct, concurrency, seconds, processes));
      via.push(await closedLoop(roots, arms.via, concurrency, seconds, processes));
    }
  }
  return { via, direct };
}

/**
 * `a` − `b` per iteration, the two called back to back in alternating order (so neither always
 * follows the other): the paired differences whose median is "what `a` adds".
 */
export async function pairedDifferences(
  a: () => Promise<void>,
  b: () => Promise<void>,
  iterations: number,
): Promise<number[]> {
  const diffs: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const aFirst = i % 2 === 1;
    const order = aFirst ? [a, b] : [b, a];
    const t: number[] = [];
    for (const f of order) {
      const started = performance.now();
      await f();
      t.push(performance.now() - started);
    }
    const [first, second] = t as [number, number];
    diffs.push(aFirst ? first - second : second - first);
  }
  return diffs;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
