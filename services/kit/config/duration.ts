/** Parses "900", "900s", "15m", "1h", "30d", "250ms" into whole seconds (ms rounds up). */
export function parseDurationSeconds(text: string): number | undefined {
  const m = /^\s*(\d+)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  switch (m[2] ?? "s") {
    case "ms":
      return Math.ceil(n / 1000);
    case "s":
      return n;
    case "m":
      return n * 60;
    case "h":
      return n * 3600;
    default:
      return n * 86400;
  }
}
