import type { AuthInfo, CallToolResult, InputRequiredResult } from "@modelcontextprotocol/server";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import type { ModelProvider } from "#kit/model/index.js";
import type { AuditRecorder } from "../audit/audit-recorder.js";
import type { SystemFacts } from "../tools/tool.js";
import type { ConfirmationInput } from "./confirmation.js";
import type { ToolCatalog } from "./tool-catalog.js";

export interface ToolRunnerDeps {
  readonly catalog: ToolCatalog;
  readonly db: Database;
  readonly audit: AuditRecorder;
  readonly model: ModelProvider;
  readonly system: SystemFacts;
  readonly logger: Logger;
}

/** What the runner needs of the request a handler serves (from the SDK's handler context). */
export interface HandlerExtra {
  readonly authInfo?: AuthInfo | undefined;
  readonly sessionId?: string | undefined;
  /** The request's `_meta` (the idempotency key travels there, docs/mcp-server.md). */
  readonly meta?: Readonly<Record<string, unknown>> | undefined;
  /** A destructive call's question and answer (docs/mcp-server.md, "Confirmation before destruction"); absent: it cannot ask. */
  readonly confirmation?: ConfirmationInput | undefined;
}

export type ToolRunner = (
  name: string,
  rawArguments: unknown,
  extra: HandlerExtra,
) => Promise<CallToolResult | InputRequiredResult>;
