import { ROLE_SCOPES, type Role, TOOL_SCOPES, type ToolName } from "#kit/contract/index.js";
import type { ChatRequest } from "#kit/model/index.js";
import { readRunContext } from "../registry/run-context.js";
import { TOOL_PHRASES } from "./capabilities.js";

/**
 * Said when the user asks for something whose tool this request does not offer. The gateway
 * offers only what both the agent's allow-list and the caller's role allow (docs/agent.md), so the
 * refusal says which one is missing: switching agents helps only when the agent lacks the tool.
 * The agent's own instructions shape it: a read-only agent says it is read-only.
 */
export function refusal(tool: ToolName, request: ChatRequest): string {
  const action = TOOL_PHRASES[tool]?.action ?? `use ${tool}`;
  const scope = TOOL_SCOPES[tool];
  const readOnly = !scope.endsWith(":read") && /\bread-only\b/i.test(agentInstructions(request));
  const context = readRunContext(request.messages);

  if (context) {
    const roles = context.caller.roles.join(", ") || "none";
    if (!context.caller.scopes.includes(scope)) {
      const granting = (Object.keys(ROLE_SCOPES) as Role[]).filter((r) => ROLE_SCOPES[r].includes(scope));
      return `I can't ${action} for you: your role (${roles}) lacks the ${scope} permission that the ${tool} tool needs, so switching agents will not help; someone with the ${granting.join(" or ")} role can.`;
    }
    const others = context.agents
      .filter((a) => a.id !== context.agent.id && a.tools.includes(tool))
      .map((a) => `${a.name} (${a.id})`);
    const lead = readOnly
      ? `${context.agent.name} is read-only, so I can't ${action} (${tool}).`
      : `I can't ${action}: ${context.agent.name} does not have the ${tool} tool.`;
    return others.length > 0
      ? `${lead} Your role allows it: switch to ${others.join(" or ")} to do that.`
      : `${lead} No agent here has that tool.`;
  }

  // No run context (a bare model request): what the offered tools reveal is all there is to say.
  const offeredScopes = new Set((request.tools ?? []).map((t) => TOOL_SCOPES[t.name as ToolName]));
  if (readOnly) return `This agent is read-only, so I can't ${action} (${tool}); another agent may.`;
  if (offeredScopes.has(scope)) {
    return `I can't ${action}: this agent does not have the ${tool} tool, though your role allows it; another agent may.`;
  }
  return `I can't ${action} here: the ${tool} tool is not offered, because your role or this agent lacks it.`;
}

/** The agent's system prompt: the first system message that is not the run context. */
function agentInstructions(request: ChatRequest): string {
  const prompt = request.messages.find((m) => m.role === "system" && !m.content.startsWith("Run context"));
  return prompt?.content ?? "";
}
