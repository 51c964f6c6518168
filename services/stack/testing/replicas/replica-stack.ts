import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Config, parseConfig } from "#kit/config/index.js";
import { freePort } from "#kit/testing/free-port.js";
import type { StackBackend } from "../../stack-backends.js";
import { balancing, type HaproxyProcess, startHaproxy } from "./haproxy-process.js";
import {
  type Replica,
  type ReplicaProcess,
  replicaReady,
  SERVICES,
  type ServiceName,
  startReplica,
  stopGracefully,
} from "./replica-process.js";

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
  const env = sharedEnv(databaseUrl, balancer, passwords);
  const config = parseConfig({ ...env, IDENTITY_PORT: String(frontends.identity) });
  const haproxy = await startHaproxy(
    SERVICES.map((s) => ({
      name: s,
      frontendPort: frontends[s],
      serverPorts: replicaPorts[s],
      h2c: s !== "mcp-server",
    })),
    dir,
  );
  const started: ReplicaProcess[] = [];
  const close = closer(started, haproxy, async () => {
    await backend.dispose().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    await startInOrder(started, (service, name) =>
      startReplica({ service, name, port: replicaPorts[service][name === "a" ? 0 : 1] ?? 0, env, dir }),
    );
    await balancing(haproxy.statsPort, SERVICES.length * 2);
  } catch (err) {
    const tails = started.map((r) => `--- ${r.service}-${r.name}\n${r.lines().slice(-5).join("\n")}`);
    await close();
    throw new Error(`the replica stack did not start: ${String(err)}\n${tails.join("\n")}`);
  }
  const replicas = Object.fromEntries(
    SERVICES.map((s) => [s, started.filter((r) => r.service === s)]),
  ) as Record<ServiceName, ReplicaProcess[]>;
  return { config, balancer, replicas, passwords, balancerOutput: haproxy.output, close };
}

/** The settings every replica of every service is started with: the balancer's URLs, one set of secrets. */
function sharedEnv(
  databaseUrl: string,
  balancer: Record<ServiceName, string>,
  passwords: ReplicaStack["passwords"],
): Record<string, string> {
  return {
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
    // The identity replicas share one database, so one secret seals its signing keys (docs/identity.md).
    SIGNING_KEY_SECRET: randomBytes(32).toString("base64url"),
  };
}

/**
 * Identity first (every other service gets its keys and credential there), replica by replica
 * (the first seeds; the second finds the seed). Then the other four, both replicas at once. Each
 * replica joins `started` as it starts, so a failure can still stop it.
 */
async function startInOrder(
  started: ReplicaProcess[],
  start: (service: ServiceName, name: string) => ReplicaProcess,
): Promise<void> {
  for (const name of ["a", "b"]) {
    const identity = start("identity", name);
    started.push(identity);
    await replicaReady(identity);
  }
  const rest = SERVICES.filter((s) => s !== "identity").flatMap((s) =>
    ["a", "b"].map((name) => start(s, name)),
  );
  started.push(...rest);
  await Promise.all(rest.map((r) => replicaReady(r)));
}

/**
 * The stack's `close`: every replica stopped gracefully, HAProxy killed, then `dispose`. Should the
 * test process end without closing (a timeout, an interrupted run), nothing it started outlives it:
 * the replicas and HAProxy are killed on its way out.
 */
function closer(
  started: readonly ReplicaProcess[],
  haproxy: HaproxyProcess,
  dispose: () => Promise<void>,
): () => Promise<void> {
  const killAll = () => {
    for (const r of started) r.signal();
    haproxy.kill();
  };
  process.once("exit", killAll);
  return async () => {
    process.off("exit", killAll);
    await Promise.all(started.map((r) => stopGracefully(r)));
    haproxy.kill();
    await dispose();
  };
}
