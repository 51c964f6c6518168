import type { Attributes } from "@opentelemetry/api";
import { actingAgent } from "../auth/principal.js";
import { type CallScope, currentCallScope } from "./call-scope.js";

/**
 * Who a call is for, as span attributes (docs/architecture.md, "Telemetry"):
 * the user (`user.id`), the login session (`session.id`), the agent (`gen_ai.agent.id`) and the
 * calling service. Never a token, a secret or a tool's arguments.
 */
export function callAttributes(
  scope: Pick<CallScope, "principal" | "caller" | "actingAgent"> | undefined = currentCallScope(),
): Attributes {
  const attributes: Attributes = {};
  const principal = scope?.principal;
  if (principal) {
    attributes["user.id"] = principal.userId;
    if (principal.sessionId) attributes["session.id"] = principal.sessionId;
    if (principal.anonymous) attributes["support_ext.anonymous"] = true;
  }
  const agent =
    scope?.actingAgent ?? scope?.caller?.agent ?? (principal ? actingAgent(principal) : undefined);
  if (agent) attributes["gen_ai.agent.id"] = agent;
  if (scope?.caller) attributes["support_ext.caller"] = scope.caller.clientId;
  return attributes;
}
