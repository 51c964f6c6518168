import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ToolCallStatus } from "#gen/supportext/agent/v1/agent_pb.js";
import { AuditService } from "#gen/supportext/audit/v1/audit_pb.js";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { ChatService, MessageStatus } from "#gen/supportext/chat/v1/chat_pb.js";
import { stackBackends } from "../stack-backends.js";
import { hopProbes } from "../testing/hop-probes.js";
import { haproxyAvailable } from "../testing/replicas/haproxy-process.js";
import { SERVICES } from "../testing/replicas/replica-process.js";
import { type ReplicaStack, startReplicaStack } from "../testing/replicas/replica-stack.js";

const postgres = stackBackends().find((b) => b.name === "postgres");
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

/**
 * Two replicas of every service behind HAProxy on one PostgreSQL (docs/architecture.md,
 * "Replicas"). PostgreSQL only (replicas share a database; PGlite is one process by construction)
 * and HAProxy only (Debian's package, installed by .ci/run). Figures are printed, never asserted.
 */
describe.skipIf(!postgres || !haproxyAvailable())(
  "two replicas of every service behind HAProxy",
  {
    timeout: 300_000,
  },
  () => {
    let stack: ReplicaStack;
    const auth = () =>
      createClient(
        AuthService,
        createConnectTransport({ baseUrl: stack.balancer.identity, httpVersion: "2" }),
      );
    const chat = () =>
      createClient(ChatService, createConnectTransport({ baseUrl: stack.balancer.chat, httpVersion: "2" }));
    const login = async (who: "admin" | "agent" | "viewer") => {
      const res = await auth().login({ email: `${who}@company.com`, password: stack.passwords[who] });
      return { accessToken: res.tokens?.accessToken ?? "", refreshToken: res.tokens?.refreshToken ?? "" };
    };
    const served = (service: (typeof SERVICES)[number], msg: RegExp) =>
      stack.replicas[service].map((r) => r.lines().filter((l) => msg.test(l)).length);

    beforeAll(async () => {
      if (!postgres) return;
      stack = await startReplicaStack(postgres);
    }, 300_000);
    afterAll(async () => stack?.close());

    it("turns through the balancers land on both replicas of every service; each writes its tickets and the audit chain stays intact", async () => {
      const { accessToken } = await login("agent");
      const turns = await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const { thread } = await chat().createThread({ agentId: "support-assistant" }, bearer(accessToken));
          const res = await chat().sendMessage(
            { threadId: thread?.id ?? "", content: `create a ticket: replica check ${i}, high priority` },
            bearer(accessToken),
          );
          return res.assistantMessage;
        }),
      );
      for (const m of turns) expect(m?.status).toBe(MessageStatus.COMPLETE);
      const table = SERVICES.map((s) => `${s}: ${served(s, /"msg":"(request|rpc|call|tool)/).join(" / ")}`);
      console.log(`requests logged per replica (a / b):\n${table.join("\n")}`);
      // Both MCP servers ran tools: stateless MCP needs no stickiness.
      const tools = served("mcp-server", /"msg":"tool create_ticket ok"/);
      console.log(`create_ticket runs per MCP server replica: ${tools.join(" / ")}`);
      expect(tools.every((n) => n > 0)).toBe(true);
      // The gateways spoke 2026-07-28 (stateless): the 2025 family would have opened sessions.
      expect(served("mcp-server", /"msg":"MCP session opened"/)).toEqual([0, 0]);

      const audit = createClient(
        AuditService,
        createConnectTransport({ baseUrl: stack.balancer["mcp-server"], httpVersion: "1.1" }),
      );
      const admin = await login("admin");
      const verified = await audit.verifyAuditChain({}, bearer(admin.accessToken));
      console.log(
        `audit chain after two MCP servers wrote at once: intact ${verified.intact}, ${verified.chainRows} rows`,
      );
      expect(verified.intact).toBe(true);
    });

    it("a logout is refused at every replica of every service", async () => {
      const user = await login("viewer");
      const probes = hopProbes(probeTargets(stack));
      const mcpToken = await probes.mcpToken(user.accessToken);
      const perReplica = SERVICES.flatMap((s) =>
        stack.replicas[s].map((r) => ({
          service: s,
          replica: r,
          probes: hopProbes(probeTargets(stack, s, r.url)),
        })),
      );
      const probeOf = (p: (typeof perReplica)[number]) => {
        switch (p.service) {
          case "identity":
            return p.probes.identity(user.accessToken);
          case "chat":
            return p.probes.chat(user.accessToken);
          case "agent":
            return p.probes.agent(user.accessToken);
          case "mcp-gateway":
            return p.probes.gateway(user.accessToken);
          case "mcp-server":
            return p.probes.mcp(mcpToken);
        }
      };
      for (const p of perReplica) expect(await probeOf(p)).toBe("accepted");
      const started = performance.now();
      await auth().logout({ refreshToken: user.refreshToken });
      const delays = await Promise.all(
        perReplica.map(async (p) => {
          while ((await probeOf(p)) !== "revoked") {
            if (performance.now() - started > 30_000)
              throw new Error(`${p.service}-${p.replica.name} never refused`);
            await new Promise((r) => setTimeout(r, 10));
          }
          return `${p.service}-${p.replica.name} ${(performance.now() - started).toFixed(1)}`;
        }),
      );
      console.log(`revocation delay after Logout at each replica (ms): ${delays.join(", ")}`);
    });

    it.skipIf(!k6Binary())(
      "k6's concurrent-sessions script through the balancers: no token mixed up",
      async () => {
        const k6 = k6Binary() as string;
        const summaries = mkdtempSync(join(tmpdir(), "replicas-k6-"));
        const vus = 6;
        const env = {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "",
          IDENTITY: stack.balancer.identity,
          CHAT: stack.balancer.chat,
          AGENT: stack.balancer.agent,
          GATEWAY: stack.balancer["mcp-gateway"],
          MCP: stack.balancer["mcp-server"],
          MCP_RESOURCE: stack.config.MCP_RESOURCE,
          AGENT_CLIENT_SECRET: stack.config.AGENT_CLIENT_SECRET,
          GATEWAY_CLIENT_ID: stack.config.GATEWAY_CLIENT_ID,
          GATEWAY_CLIENT_SECRET: stack.config.GATEWAY_CLIENT_SECRET,
          ADMIN_PASSWORD: stack.passwords.admin,
          VUS: String(vus),
          DURATION: "10s",
          SUMMARY_DIR: summaries,
          SUMMARY_NAME: "concurrent-sessions-replicas",
        };
        const users = spawnSync(
          process.execPath,
          ["--import", "tsx", "loadtest/load-users.ts", String(vus)],
          {
            env,
            encoding: "utf8",
          },
        );
        expect(users.status, users.stderr).toBe(0);
        const run = spawnSync(
          k6,
          ["run", "--quiet", "--no-usage-report", "loadtest/concurrent-sessions.js"],
          {
            env,
            encoding: "utf8",
            timeout: 240_000,
          },
        );
        const summary = readFileSync(join(summaries, "concurrent-sessions-replicas.txt"), "utf8");
        console.log(summary);
        const verdict = JSON.parse(
          readFileSync(join(summaries, "concurrent-sessions-replicas.json"), "utf8"),
        ) as {
          correctness_failed: string[];
        };
        expect(run.stdout + run.stderr).not.toMatch(/source=stacktrace/);
        expect(verdict.correctness_failed).toEqual([]);
        const counter = (name: string) =>
          Number(new RegExp(`^\\s*${name}\\s+(\\d+)`, "m").exec(summary)?.[1] ?? 0);
        // A counter never incremented is not printed: no mix-up at all.
        expect(counter("token_mixups")).toBe(0);
        expect(counter("tickets_checked")).toBeGreaterThan(0);
      },
    );

    // After the others: it leaves the viewer's guesses from this address throttled.
    it("failed logins through the balancer are counted across both identity replicas", async () => {
      const limit = stack.config.LOGIN_MAX_FAILURES_PER_EMAIL;
      const codes: (Code | "ok")[] = [];
      for (let i = 0; i < limit + 2; i++) {
        codes.push(
          await auth()
            .login({ email: "viewer@company.com", password: "not-the-password" })
            .then(() => "ok" as const)
            .catch((err: unknown) => ConnectError.from(err).code),
        );
        await new Promise((r) => setTimeout(r, 100));
      }
      const perReplica = served("identity", /"msg":"login (failed|throttled)"/);
      console.log(
        `failed logins per identity replica: ${perReplica.join(" / ")}; answers ${codes.map((c) => (c === "ok" ? c : Code[c])).join(", ")}`,
      );
      expect(perReplica.every((n) => n > 0)).toBe(true);
      expect(codes.slice(0, limit).every((c) => c === Code.Unauthenticated)).toBe(true);
      expect(codes.slice(limit)).toEqual([Code.ResourceExhausted, Code.ResourceExhausted]);
    });

    // Last: it leaves one replica of each service.
    it("one replica of every service killed (kill -9) mid-run: no turn lost, none falsely reported", async () => {
      const users = await Promise.all(
        (["admin", "agent", "admin", "agent"] as const).map(async (who, i) => {
          const { accessToken } = await login(who);
          const { thread } = await chat().createThread({ agentId: "support-assistant" }, bearer(accessToken));
          return { i, accessToken, threadId: thread?.id ?? "" };
        }),
      );
      type Turn = { marker: string; acknowledged: boolean; resent: number; told: string };
      const turns: Turn[] = [];
      let stop = false;
      const turn = async (u: (typeof users)[number], n: number): Promise<Turn> => {
        const marker = `rk${u.i}n${n}x${randomBytes(4).toString("hex")}`;
        const requestId = `replica-${marker}`;
        // A lost connection (its chat replica died under it) is repeated with the same request id,
        // as a chat client repeats a lost turn; every other answer is what the user was told.
        for (let resent = 0; ; resent++) {
          try {
            const res = await chat().sendMessage(
              { threadId: u.threadId, content: `create a ticket: scanner ${marker} offline` },
              {
                headers: { authorization: `Bearer ${u.accessToken}`, "x-request-id": requestId },
                timeoutMs: 90_000,
              },
            );
            const call = res.assistantMessage?.toolCalls.find((c) => c.name === "create_ticket");
            return {
              marker,
              acknowledged: call?.status === ToolCallStatus.SUCCEEDED,
              resent,
              told: call ? `${call.errorCode} ${call.errorMessage}` : (res.assistantMessage?.content ?? ""),
            };
          } catch (err) {
            const ce = ConnectError.from(err);
            const lost =
              ce.code === Code.Unavailable || ce.code === Code.Internal || ce.code === Code.Unknown;
            if (!lost || resent >= 5)
              return { marker, acknowledged: false, resent, told: `${Code[ce.code]}: ${ce.rawMessage}` };
            await new Promise((r) => setTimeout(r, 500));
          }
        }
      };
      const workers = users.map(async (u) => {
        for (let n = 0; !stop; n++) turns.push(await turn(u, n));
      });
      while (turns.length < users.length) await new Promise((r) => setTimeout(r, 20));
      const killed = SERVICES.map((s) => stack.replicas[s][1]);
      await Promise.all(killed.map((r) => r?.kill()));
      const atKill = turns.length;
      // The load goes on over the survivors until every user has had two more turns.
      while (turns.length < atKill + 2 * users.length) await new Promise((r) => setTimeout(r, 50));
      stop = true;
      await Promise.all(workers);

      const stored = await storedMarkers(stack.config.DATABASE_URL ?? "");
      const acknowledged = turns.filter((t) => t.acknowledged);
      const failed = turns.filter((t) => !t.acknowledged);
      const lost = acknowledged.filter((t) => (stored.get(t.marker) ?? 0) !== 1);
      const falselyFailed = failed.filter((t) => (stored.get(t.marker) ?? 0) > 0);
      const doubled = [...stored.values()].filter((n) => n > 1).length;
      console.log(
        `kill -9 of ${killed.map((r) => `${r?.service}-${r?.name}`).join(", ")} after ${atKill} turns: ` +
          `${turns.length} turns, ${acknowledged.length} acknowledged, ${failed.length} reported failed, ` +
          `${turns.filter((t) => t.resent > 0).length} repeated after a lost connection; ` +
          `lost ${lost.length}, falsely reported failed ${falselyFailed.length}, stored twice ${doubled}`,
      );
      for (const t of failed) console.log(`reported failed: ${t.marker}: ${t.told}`);
      expect(lost).toEqual([]);
      expect(falselyFailed).toEqual([]);
      expect(doubled).toBe(0);
    });
  },
);

/** The hop probes aimed at the balancer, or one service's probe at one replica. */
function probeTargets(stack: ReplicaStack, service?: string, url?: string) {
  const at = (s: string) =>
    s === service && url ? url : stack.balancer[s as keyof ReplicaStack["balancer"]];
  return {
    config: { ...stack.config, MCP_URL: `${at("mcp-server")}/mcp` },
    identity: { url: at("identity") },
    chat: { url: at("chat") },
    agent: { url: at("agent") },
    gateway: { url: at("mcp-gateway") },
  };
}

/** How many tickets name each marker, in the MCP server's schema of the run's database. */
async function storedMarkers(databaseUrl: string): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows: schemas } = await client.query<{ table_schema: string }>(
      "SELECT table_schema FROM information_schema.tables WHERE table_name = 'tickets'",
    );
    const schema = schemas[0]?.table_schema;
    if (!schema) throw new Error("no tickets table");
    const { rows } = await client.query<{ title: string; description: string }>(
      `SELECT title, description FROM "${schema}".tickets`,
    );
    const stored = new Map<string, number>();
    for (const r of rows) {
      const marker = /\brk\d+n\d+x[0-9a-f]{8}\b/i.exec(`${r.title} ${r.description}`)?.[0]?.toLowerCase();
      if (marker) stored.set(marker, (stored.get(marker) ?? 0) + 1);
    }
    return stored;
  } finally {
    await client.end();
  }
}

/** The k6 run-all.sh would use: K6_BIN, k6 on PATH, or shared/tools/k6 beside a directory above. */
function k6Binary(): string | undefined {
  if (process.env.K6_BIN) return process.env.K6_BIN;
  const onPath = spawnSync("sh", ["-c", "command -v k6"], { encoding: "utf8" }).stdout.trim();
  if (onPath) return onPath;
  for (let dir = dirname(process.cwd()); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "shared/tools/k6"))) return join(dir, "shared/tools/k6");
    if (dir === dirname(dir)) return undefined;
  }
}
