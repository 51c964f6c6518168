import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ToolCallStatus } from "../../gen/supportext/agent/v1/agent_pb.js";
import { ChatService } from "../../gen/supportext/chat/v1/chat_pb.js";
import { startAgentTestStack } from "../stack/testing/agent-test-stack.js";
import { printRow, summarize } from "./stats.js";

const USERS = Number(process.env.BENCH_CHAIN_USERS ?? 200);

/**
 * Brief §11: concurrent sessions of different users through chat → agent → gateway → MCP server.
 * Every user logs in, opens a thread and, all at once, asks the agent to file a ticket naming
 * themselves. Then the data is checked, not the responses alone: every ticket's `created_by`, every
 * audit row's user and every thread's owner must be the user who asked. Real services on loopback
 * (one process, embedded PGlite), the embedded planner as the model.
 */
export async function benchChain(): Promise<void> {
  const stack = await startAgentTestStack({ LOG_LEVEL: "error" });
  try {
    const chat = createClient(ChatService, createGrpcTransport({ baseUrl: stack.base.chat.url }));
    const password = "chain-bench-password";
    const emails = await stack.addUsers("chain", USERS, "support_agent", password);
    const users = await Promise.all(
      emails.map(async (email) => {
        const login = await stack.base.login(email, password);
        const headers = { authorization: `Bearer ${login.accessToken}` };
        const { thread } = await chat.createThread({ agentId: "support-assistant" }, { headers });
        return { email, userId: login.userId, headers, threadId: thread?.id ?? "" };
      }),
    );

    let authFailures = 0;
    let failedTurns = 0;
    // Why turns failed, counted by reason: a failure figure is only useful with its cause.
    const reasons = new Map<string, number>();
    const because = (reason: string) => reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    const latencies: number[] = [];
    const began = performance.now();
    const outcomes = await Promise.all(
      users.map(async (u) => {
        const started = performance.now();
        try {
          const res = await chat.sendMessage(
            { threadId: u.threadId, content: `create a ticket: ${u.email} printer jam, high priority` },
            { headers: u.headers },
          );
          latencies.push(performance.now() - started);
          const call = res.assistantMessage?.toolCalls.find((c) => c.name === "create_ticket");
          if (call?.status !== ToolCallStatus.SUCCEEDED) {
            failedTurns++;
            because(
              call
                ? `create_ticket ${call.errorCode || "failed"}`
                : `no create_ticket (${res.assistantMessage?.status ?? "no answer"})`,
            );
            if (call?.errorCode === "unauthenticated") authFailures++;
            return undefined;
          }
          return {
            u,
            ticket: JSON.parse(call.structuredResultJson).ticket as { id: number; created_by: string },
          };
        } catch (err) {
          failedTurns++;
          because(err instanceof Error ? err.message.slice(0, 120) : String(err));
          if (String(err).includes("unauthenticated")) authFailures++;
          return undefined;
        }
      }),
    );
    const wallMs = performance.now() - began;

    // Attribution, from the data each service stored.
    const byEmail = new Map(users.map((u) => [u.email.split("@")[0] ?? "", u.userId]));
    const { rows: tickets } = await stack.base.mcpDb.query<{ id: number; title: string; created_by: string }>(
      "SELECT id, title, created_by FROM tickets WHERE title ILIKE 'chain%'",
    );
    // Each title starts with the asker's address (the planner may capitalise it).
    const asker = (title: string) => /chain\d+/i.exec(title)?.[0].toLowerCase() ?? "";
    const wrongTickets = tickets.filter((t) => byEmail.get(asker(t.title)) !== t.created_by);
    const wrongResults = outcomes.filter((o) => o && o.ticket.created_by !== o.u.userId).length;
    // The audit row of each call names its user; the arguments it recorded name the asker.
    const { rows: audit } = await stack.base.mcpDb.query<{ user_id: string; title: string | null }>(
      `SELECT user_id, arguments->>'title' AS title FROM audit_log
        WHERE tool = 'create_ticket' AND user_id = ANY($1::text[])`,
      [users.map((u) => u.userId)],
    );
    const auditUsers = new Set(audit.map((r) => r.user_id));
    const wrongAudit = audit.filter((r) => byEmail.get(asker(r.title ?? "")) !== r.user_id).length;
    let wrongThreads = 0;
    await Promise.all(
      users.map(async (u) => {
        const mine = await chat.listThreads({}, { headers: u.headers });
        if (mine.threads.length !== 1 || mine.threads[0]?.id !== u.threadId) wrongThreads++;
      }),
    );

    console.log(
      `\n## ${USERS} concurrent users through chat → agent → gateway → MCP server (docs/performance.md)`,
    );
    printRow(`SendMessage "create a ticket …", ${USERS} at once`, summarize(latencies));
    console.log(
      `${USERS} turns in ${(wallMs / 1000).toFixed(1)} s: failed ${failedTurns}, auth failures ${authFailures}; ` +
        `tickets ${tickets.length} (wrong creator ${wrongTickets.length}), results naming another user ${wrongResults}, ` +
        `audit rows ${audit.length} for ${auditUsers.size} users (naming another user than the asker ${wrongAudit}), threads not their owner's ${wrongThreads}`,
    );
    for (const [reason, count] of reasons) console.log(`  failed: ${count} × ${reason}`);
  } finally {
    await stack.close();
  }
}
