/** One agent of the registry (docs/agent.md): which model, which tools, which limits. */
export interface AgentRecord {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly systemPrompt: string;
  /** "default" = the configured model (LLM_MODEL, or the embedded planner); otherwise a model id. */
  readonly model: string;
  /** MCP tool names this agent may call; the gateway enforces the same list. */
  readonly allowedTools: readonly string[];
  readonly limits: UsageLimits;
  readonly createdAt: Date;
}

export interface UsageLimits {
  /** Tool calls per run. */
  readonly maxToolCalls: number;
  /** Model calls per run. */
  readonly maxModelTurns: number;
}

/** The model name that means "whatever this process is configured with". */
export const DEFAULT_MODEL = "default";
