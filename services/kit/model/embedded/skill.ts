import type { ChatRequest, ToolCall } from "../types.js";

/**
 * One thing the embedded provider knows how to do. The provider asks its skills in order and the
 * first that recognises the request answers it; the agent's planner is added later as another skill.
 */
export interface EmbeddedSkill {
  readonly name: string;
  /** An answer if this skill handles `request`, otherwise undefined. Must be deterministic. */
  answer(request: ChatRequest): EmbeddedAnswer | undefined;
}

export interface EmbeddedAnswer {
  readonly content: string | null;
  readonly toolCalls?: readonly ToolCall[];
}

/** Text of the last user message (what the skill is asked about). */
export function lastUserText(request: ChatRequest): string | undefined {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const m = request.messages[i];
    if (m?.role === "user") return m.content;
  }
  return undefined;
}
