import { z } from "zod";
import { listIntegrations } from "../data/integrations.js";
import { integrationOut } from "./list-integrations.js";
import { defineTool } from "./tool.js";

export const getActiveIntegrations = defineTool({
  name: "get_active_integrations",
  title: "Active integrations",
  description:
    "The enabled integrations and whether each is healthy right now; `all_healthy` is false if any is degraded or down.",
  input: z.strictObject({}),
  output: z.object({
    integrations: z.array(integrationOut),
    all_healthy: z.boolean(),
    unhealthy: z.array(z.string()).describe("ids of enabled integrations that are not healthy"),
  }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(_args, ctx) {
    const integrations = await listIntegrations(ctx.db, { enabled: true });
    const unhealthy = integrations.filter((i) => i.health !== "healthy").map((i) => i.id);
    return {
      summary: `${integrations.length} active integration(s)${unhealthy.length ? `; not healthy: ${unhealthy.join(", ")}` : ", all healthy"}.`,
      data: { integrations, all_healthy: unhealthy.length === 0, unhealthy },
    };
  },
});
