import type { Principal } from "#kit/auth/index.js";
import type { ChatMessage } from "#kit/model/index.js";
import type { AgentRecord } from "./agent-record.js";
import type { AgentRegistry } from "./agent-registry.js";

/**
 * Who is asking and what this agent may do, as one system message of every turn. The gateway
 * offers the model only the tools both the agent's allow-list and the caller's scopes allow
 * (docs/agent.md, "Run"); this message says which of the two is missing a tool, so a refusal can
 * tell "your role can't" from "this agent can't — use that one" (the embedded planner reads it; a
 * general model reads the same sentence).
 */
export interface RunContext {
  readonly agent: AgentTools;
  readonly caller: { readonly roles: readonly string[]; readonly scopes: readonly string[] };
  /** Every registered agent, the current one included. */
  readonly agents: readonly AgentTools[];
  /**
   * When the turn runs, so "today" or "since last week" can become a tool argument. Absent from
   * contexts written before it existed: then relative dates are named as not applied.
   */
  readonly clock?: RunClock;
}

/** The current instant (RFC 3339, UTC) and the IANA time zone the caller's dates are read in. */
export interface RunClock {
  readonly now: string;
  readonly timeZone: string;
}

export interface AgentTools {
  readonly id: string;
  readonly name: string;
  readonly tools: readonly string[];
}

const PREFIX =
  "Run context (the agent, the caller's role, the other agents and the current time; use it to explain refusals and to read dates such as today): ";

export function runContextMessage(context: RunContext): ChatMessage {
  return { role: "system", content: PREFIX + JSON.stringify(context) };
}

/** The run context of a conversation, if the agent service added one. */
export function readRunContext(messages: readonly ChatMessage[]): RunContext | undefined {
  for (const m of messages) {
    if (m.role !== "system" || !m.content.startsWith(PREFIX)) continue;
    try {
      const value = JSON.parse(m.content.slice(PREFIX.length)) as RunContext;
      if (value?.agent && Array.isArray(value.agent.tools) && Array.isArray(value.caller?.scopes))
        return value;
    } catch {
      // not ours
    }
  }
  return undefined;
}

/** Where a run's clock comes from; tests inject a fixed one, so "today" is deterministic. */
export interface ClockSource {
  now(): Date;
  /** IANA name, e.g. "Europe/Berlin". */
  timeZone(): string;
}

/**
 * The process's clock and time zone: `TZ` when set (Node reads it), else the host's. The caller's
 * own zone is not in RunRequest, so the deployment's zone is the one dates are read in. The zone's
 * name is looked up once per value of `TZ` (Node applies a new `TZ` at once): building the
 * `Intl.DateTimeFormat` that tells it was a measurable part of every turn's CPU.
 */
let hostZone: { readonly tz: string | undefined; readonly name: string } | undefined;

export const systemClock: ClockSource = {
  now: () => new Date(),
  timeZone: () => {
    const tz = process.env.TZ;
    if (hostZone?.tz !== tz || hostZone === undefined)
      hostZone = { tz, name: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC" };
    return hostZone.name;
  },
};

/**
 * The run context of `agent` run by `caller`, naming every registered agent (first 100), with the
 * current time and time zone so relative dates ("since last week") can become tool arguments.
 */
export async function runContextFor(
  registry: AgentRegistry,
  agent: AgentRecord,
  caller: Pick<Principal, "roles" | "scopes">,
  clock: ClockSource = systemClock,
): Promise<ChatMessage> {
  const tools = (a: AgentRecord): AgentTools => ({ id: a.id, name: a.name, tools: [...a.allowedTools] });
  const { agents } = await registry.list(100, "");
  return runContextMessage({
    agent: tools(agent),
    caller: { roles: [...caller.roles], scopes: [...caller.scopes] },
    agents: agents.map(tools),
    clock: { now: clock.now().toISOString(), timeZone: clock.timeZone() },
  });
}

/** `messages` with the run context right after the agent's own system prompt. */
export function withRunContext(messages: readonly ChatMessage[], context: ChatMessage): ChatMessage[] {
  const leading = messages[0]?.role === "system" ? 1 : 0;
  return [...messages.slice(0, leading), context, ...messages.slice(leading)];
}
