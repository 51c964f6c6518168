/** Times (ms) of `n` runs of `op`, one after another; `op` gets the run's index. */
export async function timeRepeated(n: number, op: (i: number) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await op(i);
    times.push(performance.now() - started);
  }
  return times;
}

/** One arm of a comparison: a call, given the nonce it sends ("warm" during the warm-up, then "a" or "b"). */
export type Arm = (nonce: string) => Promise<unknown>;

/**
 * Times (ms) of two arms over `iterations` rounds after `warmUp` unmeasured ones, `a` then `b` in
 * each round: interleaved so both arms see the same machine state.
 */
export async function timeTwoArms(
  iterations: number,
  a: Arm,
  b: Arm,
  warmUp = 500,
): Promise<[number[], number[]]> {
  for (let i = 0; i < warmUp; i++) {
    await a("warm");
    await b("warm");
  }
  const timesA: number[] = [];
  const timesB: number[] = [];
  for (let i = 0; i < iterations; i++) {
    let started = performance.now();
    await a("a");
    timesA.push(performance.now() - started);
    started = performance.now();
    await b("b");
    timesB.push(performance.now() - started);
  }
  return [timesA, timesB];
}
