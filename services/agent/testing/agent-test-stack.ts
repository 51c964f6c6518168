import { randomBytes, randomUUID } from "node:crypto";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AgentService, type RunEvent } from "../../../gen/supportext/agent/v1/agent_pb.js";
import { hashPassword } from "../../chat/identity/passwords/password-hash.js";
import { createModelProvider } from "../../kit/model/create-provider.js";
import type { ChatCompletion, ChatRequest, ModelProvider } from "../../kit/model/types.js";
import { captureLogs, type LogCapture } from "../../kit/testing/log-capture.js";
import { startTestStack, type TestStack } from "../../mcp-gateway/testing/test-stack.js";
import { plannerSkill } from "../planner/planner-skill.js";
import { type RunningAgent, startAgent } from "../server.js";
import { freePort } from "../../kit/testing/free-port.js";

/**
 * The gateway's test stack (real identity provider, MCP server and gateway on loopback) plus the
 * real agent service, wired both ways: the agent calls the gateway, the gateway reads agents'
 * allow-lists from the agent. The model is the real embedded planner unless a test scripts one.
 */
export interface AgentTestStack {
  readonly base: TestStack;
  readonly agent: RunningAgent;
  readonly logs: LogCapture;
  readonly client: Client<typeof AgentService>;
  /** Replaces the model for the next runs (undefined: back to the embedded planner). */
  scriptModel(complete: ((request: ChatRequest) => Promise<ChatCompletion>) | undefined): void;
  /** Adds users with role `role` to the identity provider; returns their emails (password `password`). */
  addUsers(prefix: string, count: number, role: string, password: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function startAgentTestStack(env: Record<string, string> = {}): Promise<AgentTestStack> {
  // The gateway is configured with the agent's URL before the agent exists (each needs the other).
  const agentPort = await freePort();
  const base = await startTestStack({ ...env, AGENT_URL: `http://127.0.0.1:${agentPort}` });
  const logs = captureLogs("agent", env.LOG_LEVEL ?? "debug");
  const embedded = createModelProvider(base.config, [plannerSkill]);
  let scripted: ((request: ChatRequest) => Promise<ChatCompletion>) | undefined;
  const model: ModelProvider = {
    kind: embedded.kind,
    model: embedded.model,
    complete: (request, options) => (scripted ? scripted(request) : embedded.complete(request, options)),
  };
  const agent = await startAgent(
    { ...base.config, AGENT_PORT: agentPort, GATEWAY_URL: base.gateway.url },
    logs.logger,
    {
      model,
      ...(process.env.DATABASE_URL ? { databaseSchema: `agent_${randomBytes(5).toString("hex")}` } : {}),
    },
  );
  const client = createClient(AgentService, createGrpcTransport({ baseUrl: agent.url }));
  return {
    base,
    agent,
    logs,
    client,
    scriptModel(complete) {
      scripted = complete;
    },
    async addUsers(prefix, count, role, password) {
      // One low-cost scrypt hash shared by all (hashes carry their own parameters): quick logins.
      const hash = await hashPassword(password, { N: 2 ** 10, r: 8, p: 1 });
      const emails = Array.from({ length: count }, (_, i) => `${prefix}${i}@company.com`);
      await base.chat.database.transaction(async (tx) => {
        for (const [i, email] of emails.entries()) {
          const id = randomUUID();
          await tx.query("INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4)", [
            id,
            email,
            `${prefix} ${i}`,
            hash,
          ]);
          await tx.query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)", [id, role]);
        }
      });
      return emails;
    },
    async close() {
      await agent.close();
      await base.close();
    },
  };
}

/** All events of one run, in order. */
export async function collectRun(
  client: Client<typeof AgentService>,
  token: string,
  agentId: string,
  input: string,
): Promise<RunEvent[]> {
  const out: RunEvent[] = [];
  for await (const res of client.run({ agentId, input }, { headers: { authorization: `Bearer ${token}` } })) {
    if (res.event) out.push(res.event);
  }
  return out;
}

