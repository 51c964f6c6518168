import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

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

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

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

/** A replica as the stack that started it holds it: it may also stop it gracefully, or at once. */
export interface ReplicaProcess extends Replica {
  /** SIGTERM: the service drains and exits; resolves once it has. */
  stop(): Promise<void>;
  /** SIGKILL without waiting: for the test process's own exit. */
  signal(): void;
}

export interface ReplicaSettings {
  readonly service: ServiceName;
  readonly name: string;
  readonly port: number;
  /** The settings every replica shares. */
  readonly env: Record<string, string>;
  /** The run's temporary directory: each replica gets a data directory of its own inside. */
  readonly dir: string;
}

/** Starts one replica from the TypeScript sources, its output collected. */
export function startReplica({ service, name, port, env, dir }: ReplicaSettings): ReplicaProcess {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "services", service, "main.ts")],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        ...env,
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
  };
}

/** SIGTERM, then `kill -9` if it has not exited within 15 s. */
export async function stopGracefully(replica: ReplicaProcess): Promise<void> {
  await Promise.race([replica.stop(), new Promise((r) => setTimeout(r, 15_000))]);
  await replica.kill();
}

/** Until the replica's `/readyz` answers 200 (start-up on a busy machine: a generous deadline). */
export async function replicaReady(replica: Replica, timeoutMs = 120_000): Promise<void> {
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
