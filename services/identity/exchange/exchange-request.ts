import type { Form } from "../http/form-body.js";
import { invalidRequest, OAuthError } from "../http/oauth-response.js";

export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

/** The extension parameter that used to name the agent; the agent is now proven by `actor_token`. */
const RETIRED_AGENT_ID_PARAM = "agent_id";

/** What the exchange request asks for, its parameters checked against RFC 8693 §2.1 and our policy. */
export interface ExchangeRequest {
  /** A development exchange without a subject token: for the development principal. */
  readonly anonymous: boolean;
  /** "" when anonymous. */
  readonly subjectToken: string;
  readonly actorToken: string | undefined;
  /** `scope` split and deduplicated; undefined when absent (everything the subject holds). */
  readonly scopes: readonly string[] | undefined;
}

export interface ExchangeRequestPolicy {
  readonly mcpResource: string;
  readonly devAnonymous?: boolean;
  readonly requireActor?: boolean;
}

/** Reads and checks the token exchange's form; a bad one is refused as `invalid_request` or `invalid_target`. */
export function readExchangeRequest(form: Form, policy: ExchangeRequestPolicy): ExchangeRequest {
  if (form.has(RETIRED_AGENT_ID_PARAM)) {
    throw invalidRequest(
      `${RETIRED_AGENT_ID_PARAM} is not accepted; present the agent service's token as actor_token (RFC 8693)`,
    );
  }
  const anonymous =
    policy.devAnonymous === true && !form.has("subject_token") && !form.has("subject_token_type");
  const subjectToken = anonymous ? "" : required(form, "subject_token");
  if (!anonymous && required(form, "subject_token_type") !== ACCESS_TOKEN_TYPE) {
    throw invalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
  }
  const requestedType = form.get("requested_token_type");
  if (requestedType !== undefined && requestedType !== ACCESS_TOKEN_TYPE) {
    throw invalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`);
  }
  const actorToken = readActorToken(form, policy.requireActor === true);
  checkTarget(form, policy.mcpResource);
  return {
    anonymous,
    subjectToken,
    actorToken,
    scopes: form.has("scope") ? splitScope(form.get("scope") ?? "") : undefined,
  };
}

function readActorToken(form: Form, requireActor: boolean): string | undefined {
  const actorToken = form.get("actor_token");
  const actorType = form.get("actor_token_type");
  // RFC 8693 §2.1: actor_token_type is REQUIRED with actor_token and MUST NOT appear without it.
  if ((actorToken === undefined) !== (actorType === undefined)) {
    throw invalidRequest("actor_token and actor_token_type go together: send both or neither");
  }
  if (actorToken === "") throw invalidRequest("missing parameter actor_token");
  if (actorToken === undefined && requireActor) {
    throw invalidRequest(
      "actor_token is required: present the agent service's token for this client (RFC 8693 §2.1); exchanges without an actor are served in development only",
    );
  }
  if (actorType !== undefined && actorType !== ACCESS_TOKEN_TYPE) {
    throw invalidRequest(`actor_token_type must be ${ACCESS_TOKEN_TYPE}`);
  }
  return actorToken;
}

/** RFC 8707: the one resource tokens may be exchanged for is the MCP server. */
function checkTarget(form: Form, mcpResource: string): void {
  const resource = required(form, "resource");
  if (resource !== mcpResource) {
    throw new OAuthError(
      400,
      "invalid_target",
      "tokens can only be issued for the MCP server's resource URI",
    );
  }
  const audience = form.get("audience");
  if (audience !== undefined && audience !== mcpResource) {
    throw new OAuthError(400, "invalid_target", "audience must name the same resource as resource");
  }
}

function required(form: Form, name: string): string {
  const value = form.get(name);
  if (value === undefined || value === "") throw invalidRequest(`missing parameter ${name}`);
  return value;
}

function splitScope(scope: string): string[] {
  return [...new Set(scope.split(" ").filter(Boolean))];
}
