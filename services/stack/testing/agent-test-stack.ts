import { randomUUID } from "node:crypto";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AgentService, type RunEvent } from "#gen/supportext/agent/v1/agent_pb.js";
import { SERVICE_IDS } from "#kit/auth/index.js";
import type { ChatCompletion, ChatRequest, ModelProvider } from "#kit/model/index.js";
import { createServiceCredentialInterceptor } from "#kit/propagation/index.js";
import { configuredClientCredentials, createModelProvider } from "#kit/service/index.js";
import type { LogCapture } from "#kit/testing/log-capture.js";
import { plannerSkill } from "#services/agent/planner/planner-skill.js";
import type { RunningAgent } from "#services/agent/server.js";
import { hashPassword } from "#services/identity/passwords/password-hash.js";
import { startTestStack, type TestStack } from "./test-stack.js";

/**
 * The gateway's test stack (real identity provider, MCP server, gateway and agent service on
 * loopback) with a client that calls the agent service as chat does — chat's own service
 * credential plus the user's token. The model is the real embedded planner unless a test scripts one.
 */
export interface AgentTestStack {
  readonly base: TestStack;
  readonly agent: RunningAgent;
  readonly logs: LogCapture;
  readonly client: Client<typeof AgentService>;
  /** Replaces the model for the next runs (undefined: back to the embedded planner). */
  scriptModel(complete: ((request: ChatRequest) => Promise<ChatCompletion>) | undefined): void;
  /** Replaces the model with a whole provider, streaming included (undefined: the embedded planner). */
  useModel(provider: ModelProvider | undefined): void;
  /** Adds users with role `role` to the identity provider; returns their emails (password `password`). */
  addUsers(prefix: string, count: number, role: string, password: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function startAgentTestStack(env: Record<string, string> = {}): Promise<AgentTestStack> {
  let scripted: ((request: ChatRequest) => Promise<ChatCompletion>) | undefined;
  let embedded: ModelProvider | undefined;
  let provider: ModelProvider | undefined;
  const model: ModelProvider = {
    kind: "embedded",
    model: "planner",
    complete: (request, options) => {
      if (scripted) return scripted(request);
      if (provider) return provider.complete(request, options);
      if (!embedded) throw new Error("model used before the stack started");
      return embedded.complete(request, options);
    },
    // Present only while a streaming provider is in use, as the loop checks for it.
    get stream() {
      const streaming = scripted ? undefined : provider;
      return streaming?.stream?.bind(streaming);
    },
  };
  const base = await startTestStack(env, { model });
  embedded = createModelProvider(base.config, [plannerSkill]);
  const agent = base.agent;
  const logs = base.logs.agent;
  const chatCredentials = configuredClientCredentials(base.config, SERVICE_IDS.chat);
  // Calls the agent service as chat does: chat's own service credential beside the user's token.
  const asChat = createServiceCredentialInterceptor(chatCredentials, SERVICE_IDS.agent);
  const client = createClient(
    AgentService,
    createGrpcTransport({ baseUrl: agent.url, interceptors: [asChat] }),
  );
  return {
    base,
    agent,
    logs,
    client,
    scriptModel(complete) {
      scripted = complete;
    },
    useModel(next) {
      provider = next;
    },
    async addUsers(prefix, count, role, password) {
      // One low-cost scrypt hash shared by all (hashes carry their own parameters): quick logins.
      const hash = await hashPassword(password, { N: 2 ** 10, r: 8, p: 1 });
      const emails = Array.from({ length: count }, (_, i) => `${prefix}${i}@company.com`);
      await base.identity.database.transaction(async (tx) => {
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
    close: () => base.close(),
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
