import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "#kit/testing/free-port.js";
import { type BalancedService, haproxyConfig } from "./haproxy-config.js";

/** Whether HAProxy can be run here (Debian's package; `.ci/run` installs it). */
export function haproxyAvailable(): boolean {
  return spawnSync("haproxy", ["-v"], { stdio: "ignore" }).status === 0;
}

export interface HaproxyProcess {
  /** Its statistics page's port, where `balancing` reads which replicas are up. */
  readonly statsPort: number;
  /** HAProxy's own output (health-check transitions). */
  output(): string;
  kill(): void;
}

/** HAProxy in the foreground on a configuration written into `dir`. */
export async function startHaproxy(
  services: readonly BalancedService[],
  dir: string,
): Promise<HaproxyProcess> {
  const cfgPath = join(dir, "haproxy.cfg");
  const statsPort = await freePort();
  writeFileSync(cfgPath, haproxyConfig(services, statsPort));
  let output = "";
  const haproxy = spawn("haproxy", ["-db", "-f", cfgPath], { stdio: ["ignore", "pipe", "pipe"] });
  haproxy.stdout?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  haproxy.stderr?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  return { statsPort, output: () => output, kill: () => haproxy.kill("SIGKILL") };
}

/** Until HAProxy counts `servers` replicas up (its health checks run every 500 ms). */
export async function balancing(statsPort: number, servers: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let up = 0;
  let down: string[] = [];
  while (Date.now() < deadline) {
    const csv = await fetch(`http://127.0.0.1:${statsPort}/stats;csv`)
      .then((r) => r.text())
      .catch(() => "");
    // Fields: proxy, server, …, status (18th), …, last check's status and code (37th, 38th).
    const rows = csv
      .split("\n")
      .map((row) => row.split(","))
      .filter(
        (f) => f[1] !== undefined && !["FRONTEND", "BACKEND", "svname"].includes(f[1]) && f[0] !== "stats",
      );
    up = rows.filter((f) => f[17]?.startsWith("UP")).length;
    down = rows
      .filter((f) => !f[17]?.startsWith("UP"))
      .map((f) => `${f[0]}/${f[1]} ${f[17]} ${f[36]} ${f[37]}`);
    if (up >= servers) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`HAProxy counts ${up} of ${servers} replicas up; down: ${down.join("; ")}`);
}
