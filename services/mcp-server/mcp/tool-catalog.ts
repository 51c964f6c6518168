import type { Tool } from "@modelcontextprotocol/server";
import { z } from "zod";
import { hasScopes, type Principal } from "#kit/auth/index.js";
import { type Scope, TOOL_SCOPES } from "#kit/contract/index.js";
import { agentAllows } from "../auth/agent-tools.js";
import type { ToolSpec } from "../tools/tool.js";

/**
 * The tool list, converted to MCP tool definitions once at start-up (JSON Schema draft-07, which
 * is what the SDK's client validator compiles by default), and filtered per caller: a token sees
 * only the tools its scopes allow (docs/mcp-server.md, "Scopes and tools") and, when an agent acts, its agent's allow-list too. Each tool's scope comes from the kit's one scope
 * model, which the identity provider and the gateway use too.
 */
export interface ToolCatalog {
  get(name: string): { spec: ToolSpec; scope: Scope } | undefined;
  listFor(principal: Principal): Tool[];
  /** The scope a tool needs, for the HTTP-level check; undefined for an unknown tool. */
  scopeOf(name: string): Scope | undefined;
}

export function createToolCatalog(tools: readonly ToolSpec[]): ToolCatalog {
  const entries = tools.map((spec) => {
    const scope: Scope = TOOL_SCOPES[spec.name];
    const tool: Tool = {
      name: spec.name,
      title: spec.title,
      description: `${spec.description} Requires scope ${scope}.`,
      inputSchema: z.toJSONSchema(spec.input, { target: "draft-7", io: "input" }) as Tool["inputSchema"],
      outputSchema: z.toJSONSchema(spec.output, { target: "draft-7", io: "output" }) as Tool["outputSchema"],
      annotations: { title: spec.title, ...spec.annotations },
    };
    return { spec, scope, tool };
  });
  const byName = new Map(entries.map((e) => [e.spec.name as string, e]));
  return {
    get: (name) => byName.get(name),
    listFor: (principal) =>
      entries
        .filter((e) => hasScopes(principal, [e.scope]) && agentAllows(principal, e.spec.name))
        .map((e) => e.tool),
    scopeOf: (name) => byName.get(name)?.scope,
  };
}
