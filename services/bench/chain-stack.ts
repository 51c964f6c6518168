import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { embeddedPostgresUrl } from "#kit/db/index.js";
import { freePort } from "#kit/testing/free-port.js";
import { hashPassword } from "#services/identity/passwords/password-hash.js";
import { type ProcessInfo, processTree, stackPartOf } from "./process-tree.js";
import { connectHealthServing } from "./service-process.js";

/**
 * The whole stack as `npm start` runs it (each service its own process, the embedded PostgreSQL),
 * for the chain bench (docs/performance.md, "The chain at 1,000 users"): its addresses, its
 * database (users are written there with a cheap password hash, so setting up 1,000 logins does not
 * take 1,000 full scrypt hashes; attribution is read there), and the CPU of its processes.
 */
export interface ChainStack {
  readonly chatUrl: string;
  readonly identityUrl: string;
  /** The stack runner's pid: every process of the stack descends from it. */
  readonly pid: number;
  readonly db: pg.Pool;
  stop(): Promise<void>;
}

export async function startChainStack(): Promise<ChainStack> {
  const [identityPort, chatPort, mcpPort, gatewayPort, agentPort] = await Promise.all(
    Array.from({ length: 5 }, () => freePort()),
  );
  const dataDir = mkdtempSync(join(tmpdir(), "chain-"));
  const url = (port: number | undefined) => `http://127.0.0.1:${port}`;
  const stack = await spawnStack({
    env: {
      DATA_DIR: dataDir,
      IDENTITY_PORT: String(identityPort),
      CHAT_PORT: String(chatPort),
      MCP_PORT: String(mcpPort),
      GATEWAY_PORT: String(gatewayPort),
      AGENT_PORT: String(agentPort),
      SEED_ADMIN_PASSWORD: `bench-${randomBytes(9).toString("base64url")}`,
      // The level a deployment runs at: the per-call log lines are part of a turn's cost.
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "info",
      // Chat's limits per user as this run sets them (default: the product's): their cost with and
      // without is measured by running the bench both ways (docs/performance.md).
      ...Object.fromEntries(
        Object.entries(process.env).filter(
          (e): e is [string, string] => e[0].startsWith("CHAT_USER_") && e[1] !== undefined,
        ),
      ),
    },
    ready: async () =>
      (await connectHealthServing(url(chatPort))) &&
      (await connectHealthServing(url(agentPort))) &&
      (await connectHealthServing(url(gatewayPort))) &&
      (await fetch(`${url(mcpPort)}/readyz`)).ok,
  });
  const db = new pg.Pool({ connectionString: embeddedPostgresUrl(dataDir), max: 4 });
  return {
    chatUrl: url(chatPort),
    identityUrl: url(identityPort),
    pid: stack.pid,
    db,
    async stop() {
      await db.end().catch(() => undefined);
      await stack.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const ROOT = new URL("../../", import.meta.url);
const READY_TIMEOUT_MS = 180_000;

/**
 * The stack as `npm start` runs it (`scripts/start.mjs`) in its own process, its log lines to `BENCH_STACK_LOG` (a file) when
 * set, else nowhere: a failed turn's cause is in the services' lines, the bench prints only its reason.
 */
async function spawnStack(options: {
  readonly env: Record<string, string>;
  readonly ready: () => Promise<boolean>;
}): Promise<{ pid: number; stop(): Promise<void> }> {
  const logFile = process.env.BENCH_STACK_LOG;
  const out = logFile ? openSync(logFile, "a") : "ignore";
  const child: ChildProcess = spawn(process.execPath, ["scripts/start.mjs"], {
    cwd: ROOT,
    stdio: ["ignore", out, "inherit"],
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      NODE_ENV: "development",
      HOST: "127.0.0.1",
      LOG_FORMAT: "json",
      // e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof": every process of the stack profiled, each profile
      // written when the stack stops (docs/performance.md, "The chain at 1,000 users").
      ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
      ...options.env,
    },
  });
  if (typeof out === "number") closeSync(out);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    while (!(await options.ready().catch(() => false))) {
      if (child.exitCode !== null) throw new Error(`the stack exited with code ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error(`the stack was not ready within ${READY_TIMEOUT_MS} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: child.pid ?? 0, stop };
}

/** Adds `count` users with `role` to the identity provider's tables; returns their emails. */
export async function addUsers(
  db: pg.Pool,
  prefix: string,
  count: number,
  role: string,
  password: string,
): Promise<string[]> {
  // One low-cost scrypt hash shared by all (a hash carries its own parameters): quick logins.
  const hash = await hashPassword(password, { N: 2 ** 10, r: 8, p: 1 });
  const emails = Array.from({ length: count }, (_, i) => `${prefix}${i}@company.com`);
  const ids = emails.map(() => randomUUID());
  await db.query(
    `INSERT INTO identity.users (id, email, name, password_hash)
       SELECT id, email, email, $3 FROM unnest($1::text[], $2::text[]) AS u(id, email)`,
    [ids, emails, hash],
  );
  await db.query(
    "INSERT INTO identity.user_roles (user_id, role) SELECT id, $2 FROM unnest($1::text[]) AS u(id)",
    [ids, role],
  );
  return emails;
}

/**
 * CPU ms used so far by every process under `root` (itself included), by process name. A process
 * counts its reaped children too (cutime, cstime): PostgreSQL's backends that ended meanwhile stay
 * counted by their parent. By process tree, never by command line: other stacks on a shared host
 * run the same files.
 */
export function stackCpuMs(root: number): Map<string, number> {
  const tree = processTree(root);
  const byPid = new Map(tree.map((p) => [p.pid, p]));
  const out = new Map<string, number>();
  for (const p of tree) {
    const name = nameUnder(p.pid, root, byPid);
    if (name) out.set(name, (out.get(name) ?? 0) + p.cpuWithChildrenMs);
  }
  return out;
}

/** The stack process `pid` is, by the entry file it (or its nearest ancestor) runs. */
function nameUnder(pid: number, root: number, tree: Map<number, ProcessInfo>): string | undefined {
  for (let at = pid, depth = 0; at > 1 && depth < 16; depth++) {
    const p = tree.get(at);
    const name = p && stackPartOf(p.cmdline);
    if (name) return name;
    if (at === root) return "runner";
    at = p?.ppid ?? 0;
  }
  return undefined;
}
