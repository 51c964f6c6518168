import { readFileSync } from "node:fs";

const ESTABLISHED = "01";

/**
 * Open TCP connections to `port` on this machine (Linux /proc/net/tcp; undefined elsewhere): a
 * client that reuses its connections holds about as many as it has calls in flight, however many
 * calls it has made.
 */
export function connectionsTo(port: number): number | undefined {
  let table: string;
  try {
    table = readFileSync("/proc/net/tcp", "utf8") + readFileSync("/proc/net/tcp6", "utf8");
  } catch {
    return undefined;
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let n = 0;
  for (const line of table.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    // remote address is field 2 ("ADDR:PORT"), state field 3
    if (f[2]?.endsWith(`:${hexPort}`) && f[3] === ESTABLISHED) n++;
  }
  return n;
}
