import { AGENT_ID, type AgentDirectory } from "../agents/agent-directory.js";
import { lookupAgent } from "../agents/lookup-agent.js";
import type { RegisteredClient } from "../clients/client-registry.js";
import type { Form } from "../http/form-body.js";
import { invalidRequest, OAuthError } from "../http/oauth-response.js";

export interface ClientCredentialsOptions {
  readonly agents: AgentDirectory;
}

/** What the service token is for; the provider issues it (provider/grants/client-credentials-grant.ts). */
export interface ServiceTokenDecision {
  /** The one service it is for (`aud`). */
  readonly audience: string;
  /** The registered agent the calling service runs (`agent`), when it named one. */
  readonly agent: string | undefined;
}

/**
 * `grant_type=client_credentials` (RFC 6749 §4.4), the product's policy: a service's own token is for ONE other service
 * (docs/architecture.md, "Service tokens"). `audience` (a service id) is required and must be one
 * the client calls (else invalid_target, RFC 8707 §2). `agent_id` is for the agent service only
 * and only names a registered agent; both refusals are invalid_request (RFC 6749 §5.2: "an
 * unsupported parameter value") — the client's credentials, the grant itself, are valid.
 */
export function createClientCredentialsPolicy(options: ClientCredentialsOptions) {
  return async (form: Form, client: RegisteredClient): Promise<ServiceTokenDecision> => {
    const audience = form.get("audience");
    if (audience === undefined || audience === "") throw invalidRequest("missing parameter audience");
    if (form.has("resource")) {
      throw new OAuthError(
        400,
        "invalid_target",
        "service tokens name their service with audience, not resource",
      );
    }
    if (form.has("scope")) throw new OAuthError(400, "invalid_scope", "service tokens carry no scope");
    if (!client.serviceAudiences.includes(audience)) {
      throw new OAuthError(
        400,
        "invalid_target",
        `client "${client.clientId}" may obtain service tokens only for ${client.serviceAudiences.join(", ")}`,
      );
    }
    const agent = form.get("agent_id");
    if (agent !== undefined) {
      if (!client.mayNameAgent) {
        throw invalidRequest(
          `agent_id: client "${client.clientId}" runs no agents; only the agent service may name one`,
        );
      }
      if (!AGENT_ID.test(agent))
        throw invalidRequest("agent_id must be 1-64 letters, digits, '.', '_' or '-'");
      if (!(await lookupAgent(options.agents, agent)))
        throw invalidRequest(`agent_id: agent "${agent}" is not registered`);
    }
    return { audience, agent };
  };
}
