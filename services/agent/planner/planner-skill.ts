import type { ChatMessage, ChatRequest, EmbeddedAnswer, EmbeddedSkill, ToolCall } from "#kit/model/index.js";
import { readRunContext } from "../registry/run-context.js";
import { askWhatToDo, describeTools } from "./capabilities.js";
import { planMessage, type Step } from "./plan.js";
import { refusal } from "./refusal.js";
import { type TicketOutcome, ticketOfResult } from "./step-results.js";
import { summarizeResult } from "./summarize.js";
import { threadTicket } from "./thread-tickets.js";

export const PLANNER_SKILL_NAME = "agent_planner";

/**
 * The agent's embedded model (docs/agent.md, "Model and the embedded planner"): it plans the last
 * user message into steps, calls the offered tools for them in order — a step that needs the
 * ticket an earlier step created or found waits for that result — and when nothing is left to
 * call, answers with everything done and anything left undone. Deterministic: the answer depends
 * only on the request. It never calls a tool the request does not offer; it says why instead.
 */
export const plannerSkill: EmbeddedSkill = {
  name: PLANNER_SKILL_NAME,
  answer(request) {
    if (request.responseFormat && request.responseFormat.type !== "text") return undefined;
    const lastUser = lastIndexOf(request.messages, "user");
    if (lastUser < 0) return undefined;
    const userText = (request.messages[lastUser] as { content: string }).content;
    const clock = readRunContext(request.messages)?.clock;
    const steps = planMessage(userText, threadTicket(request.messages.slice(0, lastUser)), clock);
    return nextMove(steps, request, request.messages.slice(lastUser + 1));
  },
};

type StepState =
  | { readonly state: "ready"; readonly call: ToolCall }
  | { readonly state: "done"; readonly call: ToolCall; readonly result: string | undefined }
  | { readonly state: "refused" }
  | { readonly state: "blocked"; readonly reason: string }
  | { readonly state: "waiting" }
  | { readonly state: "none" };

const callId = (index: number) => `step_${index + 1}`;

function nextMove(
  steps: readonly Step[],
  request: ChatRequest,
  since: readonly ChatMessage[],
): EmbeddedAnswer {
  const offered = new Set((request.tools ?? []).map((t) => t.name));
  const issued = new Map<string, ToolCall>();
  const results = new Map<string, string>();
  for (const m of since) {
    if (m.role === "assistant") for (const c of m.toolCalls ?? []) issued.set(c.id, c);
    if (m.role === "tool") results.set(m.toolCallId, m.content);
  }

  const states: StepState[] = [];
  let inOrder = true; // a step waiting for a result holds back every step after it
  for (const [i, step] of steps.entries()) {
    states.push(stateOf(step, i));
  }
  function stateOf(step: Step, i: number): StepState {
    if (step.kind !== "call") return { state: "none" };
    if (!offered.has(step.tool)) return { state: "refused" };
    const done = issued.get(callId(i));
    if (done) return { state: "done", call: done, result: results.get(done.id) };
    if (!inOrder) return { state: "waiting" };
    let args = step.args;
    if (step.from !== undefined) {
      const source = states[step.from];
      const ticket = sourceTicket(source, steps[step.from]);
      if (ticket === "waiting") {
        inOrder = false;
        return { state: "waiting" };
      }
      if ("reason" in ticket) return { state: "blocked", reason: ticket.reason };
      args = { ticket_id: ticket.id, ...args };
    }
    return { state: "ready", call: { id: callId(i), name: step.tool, arguments: JSON.stringify(args) } };
  }

  const ready = states.flatMap((s) => (s.state === "ready" ? [s.call] : []));
  if (ready.length > 0 && request.toolChoice !== "none") return { content: null, toolCalls: ready };
  return { content: answerOf(steps, states, request) };
}

function sourceTicket(source: StepState | undefined, step: Step | undefined): TicketOutcome | "waiting" {
  const what = step?.clause ? `"${step.clause}"` : "the step before";
  if (!source || source.state === "ready" || source.state === "waiting") return "waiting";
  if (source.state === "done") return ticketOfResult(source.call, source.result);
  if (source.state === "refused") return { reason: `${what} could not be done here` };
  if (source.state === "blocked") return { reason: `${what} was not done` };
  return { reason: `${what} names no ticket` };
}

/** Everything done, in order, then what was left undone and why; one paragraph each. */
function answerOf(steps: readonly Step[], states: readonly StepState[], request: ChatRequest): string {
  const tools = request.tools ?? [];
  const offered = new Set(tools.map((t) => t.name));
  const paragraphs: string[] = [];
  for (const [i, step] of steps.entries()) {
    const s = states[i];
    if (step.kind === "tools") paragraphs.push(describeTools(tools));
    else if (step.kind === "ask") {
      paragraphs.push(
        step.tool && !offered.has(step.tool)
          ? refusal(step.tool, request)
          : step.question || askWhatToDo(tools),
      );
    } else if (s?.state === "refused") paragraphs.push(refusal(step.tool, request));
    else if (s?.state === "done") {
      // What the call could not apply comes first, so the result is not read as answering it.
      paragraphs.push([...(step.notes ?? []), summarizeResult(s.call, s.result)].join("\n"));
    } else if (s?.state === "blocked") paragraphs.push(`Not done: "${step.clause}", because ${s.reason}.`);
    else paragraphs.push(`Not done: "${step.clause}".`);
  }
  return [...new Set(paragraphs)].join("\n\n").replace(/\?\./g, "?");
}

function lastIndexOf(messages: readonly ChatMessage[], role: ChatMessage["role"]): number {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]?.role === role) return i;
  return -1;
}
