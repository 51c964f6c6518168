import { z } from "zod";
import { listIntegrations as readIntegrations } from "../data/integrations.js";
import { defineTool } from "./tool.js";

export const integrationOut = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.string(),
  description: z.string(),
  enabled: z.boolean(),
  health: z.enum(["healthy", "degraded", "down", "unknown"]),
  health_detail: z.string(),
  last_checked_at: z.string().nullable(),
  settings: z.record(z.string(), z.unknown()),
});

export const listIntegrations = defineTool({
  name: "list_integrations",
  title: "List integrations",
  description: "List the helpdesk's integrations (email, Slack, Jira, …) with their enabled flag and health.",
  input: z.strictObject({
    enabled: z.boolean().optional().describe("Only enabled (true) or only disabled (false) integrations"),
  }),
  output: z.object({ integrations: z.array(integrationOut) }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(args, ctx) {
    const integrations = await readIntegrations(
      ctx.db,
      args.enabled === undefined ? {} : { enabled: args.enabled },
    );
    return {
      summary: `${integrations.length} integration(s): ${integrations.map((i) => `${i.name} (${i.enabled ? "enabled" : "disabled"}, ${i.health})`).join("; ")}.`,
      data: { integrations },
    };
  },
});
