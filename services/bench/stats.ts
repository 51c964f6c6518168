/** Percentile summary of latency samples in milliseconds. */
export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly mean: number;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  const mean = sorted.reduce((s, x) => s + x, 0) / Math.max(1, sorted.length);
  return { n: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), mean };
}

export function formatMs(x: number): string {
  return x < 1 ? `${(x * 1000).toFixed(1)} µs` : `${x.toFixed(3)} ms`;
}

export function printRow(label: string, s: Summary): void {
  console.log(
    `${label.padEnd(54)} n=${String(s.n).padStart(6)}  p50=${formatMs(s.p50).padStart(10)}  p90=${formatMs(s.p90).padStart(10)}  p99=${formatMs(s.p99).padStart(10)}`,
  );
}
