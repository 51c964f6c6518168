import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Agent, AgentSchema } from "#gen/supportext/agent/v1/agent_pb.js";
import type { AgentRecord } from "./agent-record.js";

export function agentToProto(agent: AgentRecord): Agent {
  return create(AgentSchema, {
    id: agent.id,
    name: agent.name,
    description: agent.description,
    systemPrompt: agent.systemPrompt,
    model: agent.model,
    allowedTools: [...agent.allowedTools],
    limits: { maxToolCalls: agent.limits.maxToolCalls, maxModelTurns: agent.limits.maxModelTurns },
    createTime: timestampFromDate(agent.createdAt),
  });
}
