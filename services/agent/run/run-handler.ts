import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { type RunEvent, type RunRequest, StopReason } from "#gen/supportext/agent/v1/agent_pb.js";
import type { Logger } from "#kit/log/index.js";
import type { ModelProvider } from "#kit/model/index.js";
import { kRequestId, requirePrincipal } from "#kit/propagation/index.js";
import type { AgentRegistry } from "../registry/agent-registry.js";
import { runContextFor, withRunContext } from "../registry/run-context.js";
import { REFRESH_MESSAGE, type ResumeInput, runAgentTurn } from "./agent-loop.js";
import { decodePausedTurn } from "./paused-turn.js";
import { turnMessages, validateRunRequest } from "./run-input.js";
import type { RunTools, ToolGateway } from "./tool-gateway.js";
import { turnIdOf } from "./turn-id.js";

export interface RunDeps {
  readonly registry: AgentRegistry;
  readonly model: ModelProvider;
  readonly gateway: ToolGateway;
  readonly logger: Logger;
}

/** AgentService.Run: checks the request, lists the agent's tools as the caller, runs the loop. */
export function createRunHandler(deps: RunDeps) {
  return async function* run(req: RunRequest, ctx: HandlerContext): AsyncGenerator<{ event: RunEvent }> {
    const principal = requirePrincipal(ctx);
    validateRunRequest(req);
    // A turn that stopped for a confirmation goes on from where it stopped, with the same turn id
    // (so the same idempotency keys) whatever request carries the answer (docs/agent.md, "Confirmation").
    const resume: ResumeInput | undefined = req.resume
      ? { state: decodePausedTurn(req.resume.state), confirmed: req.resume.confirmed }
      : undefined;
    const turnId = resume ? resume.state.turnId : turnIdOf(ctx.values.get(kRequestId), req);
    const agent = await deps.registry.get(req.agentId);
    const tools = await listTools(deps.gateway, ctx, agent.id, turnId);
    // Who lacks a missing tool, the caller's role or the agent (docs/agent.md, "Refusals").
    const context = await runContextFor(deps.registry, agent, principal);
    const log = { agent_id: agent.id, thread_id: req.threadId || undefined };
    deps.logger.info(
      {
        ...log,
        tools: tools.definitions.length,
        ...(resume ? { resumed: true, confirmed: resume.confirmed } : {}),
        ...(!resume && req.madeCalls.length > 0 ? { made_calls: req.madeCalls.length } : {}),
      },
      resume
        ? "agent run resumed with the user's answer"
        : req.madeCalls.length > 0
          ? "agent run going on from the calls it made before it was interrupted"
          : "agent run started",
    );
    let last: RunEvent | undefined;
    try {
      const turn = runAgentTurn(
        {
          messages: withRunContext(turnMessages(agent.systemPrompt, req), context),
          limits: agent.limits,
          turnId,
          madeCalls: req.madeCalls,
        },
        deps.model,
        tools,
        ctx.signal,
        resume,
      );
      for await (const event of turn) {
        last = event;
        yield { event };
      }
    } catch (err) {
      // Anything but a ConnectError goes on as it is: the kit's call interceptor reports it as a
      // bare `internal`, so its text (paths, provider URLs) never reaches the caller.
      if (!(err instanceof ConnectError)) throw err;
      const detail = err.cause instanceof Error ? err.cause.message : undefined;
      deps.logger.warn({ ...log, code: Code[err.code], err: err.rawMessage, detail }, "agent run failed");
      throw err;
    }
    const final = last?.event.case === "finalMessage" ? last.event.value : undefined;
    deps.logger.info(
      {
        ...log,
        stop_reason: StopReason[final?.stopReason ?? StopReason.UNSPECIFIED],
        tool_calls: final?.usage?.toolCalls,
        model_turns: final?.usage?.modelTurns,
      },
      "agent run finished",
    );
  };
}

async function listTools(
  gateway: ToolGateway,
  ctx: HandlerContext,
  agentId: string,
  turnId: string | undefined,
): Promise<RunTools> {
  try {
    return await gateway.forRun(ctx, agentId, turnId);
  } catch (err) {
    const ce = ConnectError.from(err);
    if (ce.code === Code.Unauthenticated) throw new ConnectError(REFRESH_MESSAGE, Code.Unauthenticated);
    throw new ConnectError(`listing the agent's tools failed: ${ce.rawMessage}`, ce.code);
  }
}
