import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import type { ModelProvider } from "#kit/model/index.js";
import type { ServiceTelemetry } from "#kit/telemetry/index.js";
import { type AuditRecorder, createAuditRecorder } from "../audit/audit-recorder.js";
import type { Checkpointer } from "../audit/witness/checkpointer.js";
import { createToolCatalog, type ToolCatalog } from "../mcp/tool-catalog.js";
import { createToolRunner, type ToolRunner } from "../mcp/tool-runner.js";
import type { SessionRegistry } from "../session/session-registry.js";
import { collectVersions } from "../system/versions.js";
import { registerMcpServerMetrics, withAuditTelemetry, withToolSpans } from "../telemetry.js";
import { ALL_TOOLS } from "../tools/all-tools.js";

export interface ToolRunning {
  readonly catalog: ToolCatalog;
  readonly audit: AuditRecorder;
  readonly runTool: ToolRunner;
  readonly versions: Record<string, string>;
}

/**
 * The 13 tools, their runner and the audit recorder every call writes through, with spans of each
 * audit write and tool run and tool calls counted per audit row (docs/architecture.md, "Telemetry").
 */
export function createToolRunning(deps: {
  database: Database;
  logger: Logger;
  model: ModelProvider;
  telemetry: ServiceTelemetry;
  sessions: SessionRegistry;
  checkpointer: Checkpointer;
}): ToolRunning {
  const { database, logger, telemetry, sessions, checkpointer } = deps;
  const catalog = createToolCatalog(ALL_TOOLS);
  const knownTools = { has: (name: string) => catalog.get(name) !== undefined };
  registerMcpServerMetrics(telemetry, () => sessions.size);
  const audit = withAuditTelemetry(
    createAuditRecorder(database, logger, checkpointer),
    telemetry,
    knownTools,
  );
  const versions = collectVersions();
  const system = { startedAt: new Date(), versions, activeSessions: () => sessions.size };
  const runTool = withToolSpans(
    createToolRunner({ catalog, db: database, audit, model: deps.model, logger, system }),
    knownTools,
  );
  return { catalog, audit, runTool, versions };
}
