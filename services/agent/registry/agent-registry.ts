import { Code, ConnectError } from "@connectrpc/connect";
import type { Database } from "#kit/db/index.js";
import { decodePageToken, encodePageToken, pageSizeOf } from "#kit/paging/index.js";
import { findAgent, listAgents } from "../data/agents-table.js";
import type { AgentRecord } from "./agent-record.js";

const AGENT_ID = /^[A-Za-z0-9._-]{1,64}$/;
// Keyset paging on the agent id: agents added meanwhile neither repeat nor vanish.
const AGENTS = "agent.agents";
const isAgentId = (p: unknown): p is string => typeof p === "string" && AGENT_ID.test(p);

/** Reads of the agent registry with the request checks and Connect codes callers see. */
export interface AgentRegistry {
  /** The agent, or `not_found`; a malformed id is `invalid_argument`. */
  get(agentId: string): Promise<AgentRecord>;
  list(pageSize: number, pageToken: string): Promise<{ agents: AgentRecord[]; nextPageToken: string }>;
}

export function createAgentRegistry(db: Database): AgentRegistry {
  return {
    async get(agentId) {
      if (agentId === "") throw new ConnectError("agent_id: required", Code.InvalidArgument);
      if (!AGENT_ID.test(agentId)) {
        throw new ConnectError("agent_id: 1–64 letters, digits, '.', '_' or '-'", Code.InvalidArgument);
      }
      const agent = await findAgent(db, agentId);
      if (!agent) throw new ConnectError(`agent "${agentId}" not found`, Code.NotFound);
      return agent;
    },
    async list(pageSize, pageToken) {
      const size = pageSizeOf(pageSize, { defaultSize: 50, maxSize: 100 });
      const afterId = decodePageToken(AGENTS, pageToken, isAgentId) ?? "";
      // One extra row tells whether another page follows without a count query.
      const rows = await listAgents(db, afterId, size + 1);
      const agents = rows.slice(0, size);
      const last = agents.at(-1);
      return { agents, nextPageToken: rows.length > size && last ? encodePageToken(AGENTS, last.id) : "" };
    },
  };
}
