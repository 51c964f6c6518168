import { randomBytes } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ToolCallStatus } from "#gen/supportext/agent/v1/agent_pb.js";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { ChatService } from "#gen/supportext/chat/v1/chat_pb.js";
import { type Database, openDatabase } from "#kit/db/index.js";
import { CHAT_MIGRATIONS } from "#services/chat/data/migrations.js";
import { MIGRATIONS } from "#services/mcp-server/data/migrations.js";
import { type StackBackend, stackBackends } from "./stack-backends.js";
import { NPM_START, processAlive, type StackUnderTest, startStack } from "./testing/stack-harness.js";

/**
 * Exactly-once tool writes under faults (docs/mcp-server.md, "Idempotency keys"; docs/chat.md, "A
 * turn that survives a crash"): the stack as `npm start` runs it (the runner restarts a crashed
 * service), on PGlite and on PostgreSQL, 20 users creating tickets with unique markers through chat,
 * and each of gateway, agent, MCP server and chat killed -9 in turn while they do. Afterwards the
 * MCP server's and chat's own databases are counted: every acknowledged create is stored once,
 * nothing is stored twice, no turn that reported its create as failed left a ticket behind, and no
 * thread is left without its turn's outcome (no pending or interrupted answer, no unanswered message).
 *
 * A turn whose connection was lost — the agent process died under it and chat gave up, or chat
 * itself died — is sent again once with the same `x-request-id`, as a chat client repeats a lost
 * turn: chat resumes it (or answers it from storage) and its tool calls carry the same idempotency
 * keys. Every other lost connection is the services' own retry (chat → agent, agent → gateway,
 * gateway → MCP server): a failed turn there counts as reported failed.
 */

const USERS = 20;
const AGENT_PASSWORD = `agent-${randomBytes(9).toString("base64url")}`;
type Killed = "mcp-gateway" | "agent" | "mcp-server" | "chat";

interface Turn {
  readonly marker: string;
  readonly acknowledged: boolean;
  readonly reportedFailed: boolean;
  readonly resent: boolean;
  /** What the user was told when it was not an acknowledgement. */
  readonly told?: string | undefined;
}

describe.each(stackBackends())(
  "exactly-once tool writes while services are killed -9, on $name",
  (backend: StackBackend) => {
    let stack: StackUnderTest;
    const pidOf = (name: string): number | undefined => {
      const lines = [...stack.runnerLines("service ready"), ...stack.runnerLines("service restarted")];
      return lines.filter((l) => l.process === name).at(-1)?.pid as number | undefined;
    };
    let databaseUrl: string | undefined;

    beforeAll(async () => {
      databaseUrl = await backend.prepare();
      stack = await startStack(process.execPath, NPM_START, {
        detached: true,
        env: {
          SEED_AGENT_PASSWORD: AGENT_PASSWORD,
          // Twenty workers at machine speed on two accounts: chat's limits per user stay on (their
          // lock is in every turn here) but above what they reach (docs/chat.md, "Limits per user").
          CHAT_USER_TURNS_PER_MINUTE: "100000",
          CHAT_USER_OPEN_TURNS: "1000",
          ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
        },
      });
      await stack.waitFor((o) => o.includes('"msg":"stack ready"'), 120_000);
    }, 150_000);

    afterAll(async () => {
      if (stack?.child.exitCode === null && stack.child.pid) process.kill(-stack.child.pid, "SIGKILL");
      for (const name of ["identity", "chat", "agent", "mcp-gateway", "mcp-server"]) {
        const pid = stack && pidOf(name);
        if (pid && processAlive(pid)) process.kill(pid, "SIGKILL");
      }
      await backend.dispose();
    }, 60_000);

    /** A service's own database, once the stack has stopped (PGlite's lock is released then). */
    const serviceDatabase = (service: string, migrations: typeof MIGRATIONS): Promise<Database> =>
      openDatabase({
        service,
        dataDir: stack.dataDir,
        migrations,
        ...(databaseUrl ? { databaseUrl } : {}),
      });

    it("acknowledged = stored, no duplicates, no change reported as failed, no thread without its outcome", async () => {
      const chatUrl = `http://127.0.0.1:${stack.ports.chat}`;
      const transport = createConnectTransport({ baseUrl: chatUrl, httpVersion: "1.1" });
      const auth = createClient(
        AuthService,
        createConnectTransport({ baseUrl: `http://127.0.0.1:${stack.ports.identity}`, httpVersion: "1.1" }),
      );
      const chat = createClient(ChatService, transport);
      // 20 users: login sessions of the two seeded staff who may create tickets.
      const users = await Promise.all(
        Array.from({ length: USERS }, async (_, i) => {
          const login =
            i % 2 === 0
              ? await auth.login({ email: "admin@company.com", password: stack.adminPassword })
              : await auth.login({ email: "agent@company.com", password: AGENT_PASSWORD });
          const headers = { authorization: `Bearer ${login.tokens?.accessToken ?? ""}` };
          const { thread } = await chat.createThread({ agentId: "support-assistant" }, { headers });
          return { i, headers, threadId: thread?.id ?? "" };
        }),
      );

      async function send(u: (typeof users)[number], marker: string, requestId: string) {
        return chat.sendMessage(
          { threadId: u.threadId, content: `create a ticket: printer ${marker} jammed` },
          { headers: { ...u.headers, "x-request-id": requestId }, timeoutMs: 60_000 },
        );
      }

      async function turn(
        u: (typeof users)[number],
        killed: Killed,
        n: number,
        restarted: Promise<void>,
      ): Promise<Turn> {
        const marker = `mk${killed.replace(/-/g, "")}u${u.i}n${n}x${randomBytes(4).toString("hex")}`;
        const requestId = `fault-${marker}`;
        let resent = false;
        let told: string | undefined;
        let answer: Awaited<ReturnType<typeof send>> | undefined;
        try {
          answer = await send(u, marker, requestId);
        } catch (err) {
          const ce = ConnectError.from(err);
          // Any other failure is what the user was told: counted as reported failed. Only a turn
          // whose connection was lost — its agent process died, or chat itself did — is repeated,
          // as a chat client repeats a lost turn.
          const lost =
            killed === "chat" ||
            (killed === "agent" && ce.rawMessage.startsWith("the agent could not finish the turn"));
          if (!lost) {
            return {
              marker,
              acknowledged: false,
              reportedFailed: true,
              resent,
              told: `${Code[ce.code]}: ${ce.rawMessage}`,
            };
          }
          // The connection was lost under the turn: repeat it once, same request id, once it is back.
          resent = true;
          await restarted;
          answer = await send(u, marker, requestId).catch((e: unknown) => {
            told = ConnectError.from(e).message;
            return undefined;
          });
        }
        const call = answer?.assistantMessage?.toolCalls.find((c) => c.name === "create_ticket");
        return {
          marker,
          acknowledged: call?.status === ToolCallStatus.SUCCEEDED,
          reportedFailed: call?.status !== ToolCallStatus.SUCCEEDED,
          resent,
          told: call
            ? `${call.errorCode}: ${call.errorMessage}`
            : (told ?? answer?.assistantMessage?.content),
        };
      }

      async function phase(killed: Killed): Promise<Turn[]> {
        const victim = pidOf(killed);
        expect(victim).toBeTypeOf("number");
        const restarted = stack.waitFor(
          () => stack.runnerLines("service restarted").some((l) => l.process === killed && l.pid !== victim),
          60_000,
        );
        restarted.catch(() => undefined);
        const turns: Turn[] = [];
        let stop = false;
        const workers = users.map(async (u) => {
          for (let n = 0; !stop; n++) {
            const t = await turn(u, killed, n, restarted);
            turns.push(t);
            // A user told "failed" (the service is down) tries again a moment later, not in a tight loop.
            if (!t.acknowledged) await new Promise((r) => setTimeout(r, 250));
          }
        });
        // Kill once the first answers show the load is on (every user has a turn in flight).
        await waitUntil(() => turns.length >= USERS / 2);
        process.kill(victim as number, "SIGKILL");
        await restarted;
        // The turns caught by the kill end on the restarted service; then the load stops.
        stop = true;
        await Promise.all(workers);
        return turns;
      }

      const phases: [Killed, Turn[]][] = [];
      for (const killed of ["mcp-gateway", "agent", "mcp-server", "chat"] as const)
        phases.push([killed, await phase(killed)]);

      // Count in the MCP server's own database, after a graceful stop releases its PGlite lock.
      const exited = new Promise((r) => stack.child.once("exit", r));
      process.kill(-(stack.child.pid as number), "SIGTERM");
      await exited;
      const db = await serviceDatabase("mcp-server", MIGRATIONS);
      const stored = new Map<string, number>();
      let keyRows = -1;
      try {
        // Every create went out keyed (agent → gateway → _meta): one key row per stored ticket.
        const keys = await db.query<{ n: number }>(
          "SELECT count(*) AS n FROM idempotency_keys WHERE tool = 'create_ticket'",
        );
        keyRows = keys.rows[0]?.n ?? -1;
        const { rows } = await db.query<{ title: string; description: string }>(
          "SELECT title, description FROM tickets",
        );
        for (const r of rows) {
          const marker = /\bmk[a-z]+u\d+n\d+x[0-9a-f]{8}\b/i
            .exec(`${r.title} ${r.description}`)?.[0]
            ?.toLowerCase();
          if (marker) stored.set(marker, (stored.get(marker) ?? 0) + 1);
        }
      } finally {
        await db.close();
      }

      // Every thread's turns have their outcome: no answer left pending or interrupted, no user
      // message without the assistant message after it.
      const chatDb = await serviceDatabase("chat", CHAT_MIGRATIONS);
      let openAnswers = -1;
      let unanswered = -1;
      try {
        const open = await chatDb.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM messages WHERE status IN ('pending', 'interrupted')",
        );
        openAnswers = open.rows[0]?.n ?? -1;
        const lonely = await chatDb.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM messages m WHERE m.role = 'user' AND NOT EXISTS (
           SELECT 1 FROM messages a WHERE a.thread_id = m.thread_id AND a.seq > m.seq AND a.role = 'assistant')`,
        );
        unanswered = lonely.rows[0]?.n ?? -1;
      } finally {
        await chatDb.close();
      }
      console.log(
        `${backend.name}: answers left pending or interrupted: ${openAnswers}; user messages without an answer: ${unanswered}`,
      );

      const table = phases.map(([killed, turns]) => ({
        killed,
        turns: turns.length,
        acknowledged: turns.filter((t) => t.acknowledged).length,
        stored: turns.filter((t) => (stored.get(t.marker) ?? 0) > 0).length,
        duplicates: turns.filter((t) => (stored.get(t.marker) ?? 0) > 1).length,
        falseFailures: turns.filter((t) => t.reportedFailed && (stored.get(t.marker) ?? 0) > 0).length,
        lostAcks: turns.filter((t) => t.acknowledged && (stored.get(t.marker) ?? 0) === 0).length,
        resent: turns.filter((t) => t.resent).length,
        toldFailed: turns.filter((t) => t.reportedFailed).length,
      }));
      console.log(
        [
          `${backend.name}: service killed | turns | acknowledged | stored | duplicates | false failures | told failed (nothing stored) | turns resent`,
          ...table.map(
            (r) =>
              `${r.killed.padEnd(14)} | ${r.turns} | ${r.acknowledged} | ${r.stored} | ${r.duplicates} | ${r.falseFailures} | ${r.toldFailed - r.falseFailures} | ${r.resent}`,
          ),
        ].join("\n"),
      );
      for (const [killed, turns] of phases) {
        const wrong = turns.filter((t) => t.reportedFailed && (stored.get(t.marker) ?? 0) > 0);
        for (const t of wrong.slice(0, 5)) console.log(`false failure (${killed}): ${t.told}`);
      }
      for (const r of table) {
        expect(r.turns).toBeGreaterThanOrEqual(USERS);
        expect(r.stored).toBe(r.acknowledged);
        expect(r.lostAcks).toBe(0);
        expect(r.duplicates).toBe(0);
        expect(r.falseFailures).toBe(0);
      }
      // Every stored marker belongs to a turn of this test (none invented, none stored twice).
      expect([...stored.values()].every((n) => n === 1)).toBe(true);
      expect(keyRows).toBe(stored.size);
      expect([openAnswers, unanswered]).toEqual([0, 0]);
    }, 240_000);
  },
);

async function waitUntil(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((r) => setTimeout(r, 50));
}
