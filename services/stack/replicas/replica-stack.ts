import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Config, parseConfig } from "../../kit/config/index.js";
import { freePort } from "../../kit/testing/free-port.js";
import type { StackBackend } from "../stack-backends.js";
import { haproxyConfig } from "./haproxy-config.js";

/** The five services, each run twice. */
export const SERVICES = ["identity", "chat", "agent", "mcp-gateway", "mcp-server"] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Each service's port variable: a replica is given its own port there. */
const PORT_VARIABLE: Record<ServiceName, string> = {
  identity: "IDENTITY_PORT",
  chat: "CHAT_PORT",
  agent: "AGENT_PORT",
  "mcp-gateway": "GATEWAY_PORT",
  "mcp-server": "MCP_PORT",
};

/** One process of a service, on its own loopback port. */
export interface Replica {
  readonly service: ServiceName;
  /** "a" or "b". */
  readonly name: string;
  readonly url: string;
  readonly port: number;
  /** Its JSON log lines so far. */
  lines(): string[];
  /** `kill -9`: no drain, no goodbye. */
  kill(): Promise<void>;
  readonly alive: () => boolean;
}

export interface ReplicaStack {
  /** The configuration every service was started with: its URLs are the balancer's. */
  readonly config: Config;
  /** The balancer's address of each service. */
  readonly balancer: Record<ServiceName, string>;
  readonly replicas: Record<ServiceName, readonly Replica[]>;
  readonly passwords: Readonly<Record<"admin" | "agent" | "viewer", string>>;
  /** HAProxy's own output (health-check transitions). */
  balancerOutput(): string;
  close(): Promise<void>;
}

/** Whether HAProxy can be run here (Debian's package; `.ci/run` installs it). */
export function haproxyAvailable(): boolean {
  return spawnSync("haproxy", ["-v"], { stdio: "ignore" }).status === 0;
}

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * Two replicas of every service on one PostgreSQL database (a fresh one per run), each service
 * behind HAProxy on loopback (docs/architecture.md, "Replicas"): every service reaches every other
 * through the balancer, as in a cluster, so any request may land on either replica. HAProxy speaks
 * HTTP/2 to the replicas (gRPC's trailers, Connect streams) and HTTP/1.1 or HTTP/2 to clients.
 */
export async function startReplicaStack(backend: StackBackend): Promise<ReplicaStack> {
  const databaseUrl = await backend.prepare();
  if (!databaseUrl) throw new Error("replicas share one PostgreSQL database: DATABASE_URL is required");
  const dir = mkdtempSync(join(tmpdir(), "replicas-"));
  const frontends = Object.fromEntries(
    await Promise.all(SERVICES.map(async (s) => [s, await freePort()] as const)),
  ) as Record<ServiceName, number>;
  const balancer = Object.fromEntries(SERVICES.map((s) => [s, `http://127.0.0.1:${frontends[s]}`])) as Record<
    ServiceName,
    string
  >;
  const replicaPorts = Object.fromEntries(
    await Promise.all(SERVICES.map(async (s) => [s, [await freePort(), await freePort()]] as const)),
  ) as unknown as Record<ServiceName, number[]>;
  const passwords = {
    admin: `admin-${randomBytes(9).toString("base64url")}`,
    agent: `agent-${randomBytes(9).toString("base64url")}`,
    viewer: `viewer-${randomBytes(9).toString("base64url")}`,
  };
  const env: Record<string, string> = {
    NODE_ENV: "development",
    HOST: "127.0.0.1",
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: "info",
    LOG_FORMAT: "json",
    AUTH_ISSUER: balancer.identity,
    IDENTITY_URL: balancer.identity,
    CHAT_URL: balancer.chat,
    AGENT_URL: balancer.agent,
    GATEWAY_URL: balancer["mcp-gateway"],
    MCP_RESOURCE: `${balancer["mcp-server"]}/mcp`,
    SEED_ADMIN_PASSWORD: passwords.admin,
    SEED_AGENT_PASSWORD: passwords.agent,
    SEED_VIEWER_PASSWORD: passwords.viewer,
    // Every replica of a service must hold the same secrets: one set for the run.
    AGENT_CLIENT_SECRET: randomBytes(32).toString("base64url"),
    GATEWAY_CLIENT_SECRET: randomBytes(32).toString("base64url"),
    CHAT_CLIENT_SECRET: randomBytes(32).toString("base64url"),
    MCP_CLIENT_SECRET: randomBytes(32).toString("base64url"),
  };
  const config = parseConfig({ ...env, IDENTITY_PORT: String(frontends.identity) });

  const cfgPath = join(dir, "haproxy.cfg");
  const statsPort = await freePort();
  writeFileSync(
    cfgPath,
    haproxyConfig(
      SERVICES.map((s) => ({
        name: s,
        frontendPort: frontends[s],
        serverPorts: replicaPorts[s],
        h2c: s !== "mcp-server",
      })),
      statsPort,
    ),
  );
  let haproxyOutput = "";
  const haproxy = spawn("haproxy", ["-db", "-f", cfgPath], { stdio: ["ignore", "pipe", "pipe"] });
  haproxy.stdout?.on("data", (c: Buffer) => {
    haproxyOutput += c.toString();
  });
  haproxy.stderr?.on("data", (c: Buffer) => {
    haproxyOutput += c.toString();
  });

  const started: Replica[] = [];
  // Should the test process end without closing (a timeout, an interrupted run), nothing it
  // started outlives it: the replicas and HAProxy are killed on its way out.
  const killAll = () => {
    for (const r of started) (r as Replica & { signal(): void }).signal();
    haproxy.kill("SIGKILL");
  };
  process.once("exit", killAll);
  const close = async () => {
    process.off("exit", killAll);
    await Promise.all(started.map((r) => stopGracefully(r)));
    haproxy.kill("SIGKILL");
    await backend.dispose().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Identity first (every other service gets its keys and credential there), replica by replica
    // (the first seeds; the second finds the seed). Then the other four, both replicas at once.
    for (const name of ["a", "b"]) {
      started.push(startReplica("identity", name, replicaPorts.identity[name === "a" ? 0 : 1] ?? 0, env));
      await ready(started.at(-1) as Replica);
    }
    const rest = SERVICES.filter((s) => s !== "identity").flatMap((s) =>
      ["a", "b"].map((name) => startReplica(s, name, replicaPorts[s][name === "a" ? 0 : 1] ?? 0, env)),
    );
    started.push(...rest);
    await Promise.all(rest.map((r) => ready(r)));
    await balancing(statsPort, SERVICES.length * 2);
  } catch (err) {
    const tails = started.map((r) => `--- ${r.service}-${r.name}\n${r.lines().slice(-5).join("\n")}`);
    await close();
    throw new Error(`the replica stack did not start: ${String(err)}\n${tails.join("\n")}`);
  }
  const replicas = Object.fromEntries(
    SERVICES.map((s) => [s, started.filter((r) => r.service === s)]),
  ) as Record<ServiceName, Replica[]>;
  return { config, balancer, replicas, passwords, balancerOutput: () => haproxyOutput, close };

  function startReplica(service: ServiceName, name: string, port: number, common: Record<string, string>) {
    const child: ChildProcess = spawn(
      process.execPath,
      ["--import", "tsx", join(ROOT, "services", service, "main.ts")],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "",
          ...common,
          [PORT_VARIABLE[service]]: String(port),
          // PGlite is never opened; a data directory of its own keeps key files apart.
          DATA_DIR: join(dir, `${service}-${name}`),
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    child.stderr?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const alive = () => child.exitCode === null && child.signalCode === null;
    return {
      service,
      name,
      port,
      url: `http://127.0.0.1:${port}`,
      lines: () => output.split("\n").filter((l) => l.startsWith("{")),
      alive,
      async kill() {
        if (alive()) child.kill("SIGKILL");
        await exited;
      },
      signal: () => {
        if (alive()) child.kill("SIGKILL");
      },
      stop: async () => {
        if (alive()) child.kill("SIGTERM");
        await exited;
      },
    } as Replica & { stop(): Promise<void>; signal(): void };
  }
}

async function stopGracefully(replica: Replica): Promise<void> {
  const stop = (replica as Replica & { stop?: () => Promise<void> }).stop;
  if (stop) await Promise.race([stop(), new Promise((r) => setTimeout(r, 15_000))]);
  await replica.kill();
}

/** Until HAProxy counts `servers` replicas up (its health checks run every 500 ms). */
async function balancing(statsPort: number, servers: number, timeoutMs = 60_000): Promise<void> {
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

/** Until the replica's `/readyz` answers 200 (start-up on a busy machine: a generous deadline). */
async function ready(replica: Replica, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!replica.alive()) throw new Error(`${replica.service}-${replica.name} exited`);
    const ok = await fetch(`${replica.url}/readyz`, { signal: AbortSignal.timeout(2_000) })
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${replica.service}-${replica.name} not ready within ${timeoutMs} ms`);
}
