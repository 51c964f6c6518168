import type { ToolAnnotations } from "@modelcontextprotocol/server";
import type { z } from "zod";
import type { Principal } from "#kit/auth/index.js";
import type { ToolName } from "#kit/contract/index.js";
import type { Database, Queryable } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import type { ModelProvider } from "#kit/model/index.js";

/** Facts about the running process that `get_system_health` reports. */
export interface SystemFacts {
  readonly startedAt: Date;
  readonly versions: Readonly<Record<string, string>>;
  activeSessions(): number;
}

/** What a tool handler gets besides its validated arguments. */
export interface ToolContext {
  /** The caller, from the SDK's `extra.authInfo` of this very request. */
  readonly principal: Principal;
  /** For reads. Writes go through `mutate`. */
  readonly db: Database;
  /**
   * Runs `fn` in a transaction that also writes this call's "ok" audit row, so a change never
   * commits without its audit record (and a failed change leaves neither).
   */
  mutate<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  readonly model: ModelProvider;
  readonly system: SystemFacts;
  readonly logger: Logger;
}

export interface ToolOutput<O> {
  /** One line for people and models reading the text content. */
  readonly summary: string;
  /** The structured result, matching the tool's output schema. */
  readonly data: O;
}

/** A refusal or failure the caller can act on; becomes a tool error `"<code>: <message>"`. */
export type ToolErrorCode =
  | "insufficient_scope"
  | "agent_not_allowed"
  | "invalid_arguments"
  | "not_found"
  | "invalid_transition"
  | "unknown_user"
  | "model_unavailable"
  | "cancelled_by_user"
  | "confirmation_unavailable"
  | "internal_error";

export class ToolError extends Error {
  override readonly name = "ToolError";
  constructor(
    readonly code: ToolErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The question a destructive tool asks before it runs (docs/mcp-server.md, "Confirmation before destruction"). */
export interface ToolQuestion {
  /** The whole question, in the tool's words, e.g. `Delete ticket #5 "VPN down"?`. */
  readonly message: string;
  /** The action in a few words, for a Confirm button or a checkbox: "Delete ticket #5". */
  readonly action: string;
}

export interface ToolSpec<I extends z.ZodType = z.ZodType, O extends z.ZodObject = z.ZodObject> {
  /** One of the kit's tool names; the scope it needs comes from `TOOL_SCOPES` (one model, docs/mcp-server.md). */
  readonly name: ToolName;
  readonly title: string;
  readonly description: string;
  readonly input: I;
  readonly output: O;
  readonly annotations: ToolAnnotations;
  /**
   * For a tool annotated `destructiveHint: true`, which runs only after the user's explicit yes:
   * the question to ask. It may refuse at once (a ToolError such as `not_found`) rather than ask
   * about something that cannot be done. Without it the question names the tool and its arguments.
   */
  confirm?(args: z.output<I>, ctx: Pick<ToolContext, "db" | "principal">): Promise<ToolQuestion>;
  run(args: z.output<I>, ctx: ToolContext): Promise<ToolOutput<z.input<O>>>;
}

/** Type-checks a tool against its own schemas, then erases the generics for the registry. */
export function defineTool<I extends z.ZodType, O extends z.ZodObject>(spec: ToolSpec<I, O>): ToolSpec {
  return spec as unknown as ToolSpec;
}
