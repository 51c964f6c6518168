import { errors, type Provider } from "oidc-provider";
import { describeChain } from "../../../kit/auth/principal.js";
import type { Logger } from "../../../kit/log/logger.js";
import { currentCallScope } from "../../../kit/propagation/call-scope.js";
import {
  CLIENT_CREDENTIALS_GRANT,
  type RegisteredClient,
  TOKEN_EXCHANGE_GRANT,
} from "../../clients/client-registry.js";
import type { createTokenExchange } from "../../exchange/token-exchange.js";
import type { Form } from "../../http/form-body.js";
import { OAuthError } from "../../http/oauth-response.js";
import type { createClientCredentialsGrant } from "../../service-tokens/client-credentials.js";

/** What a grant handler of oidc-provider sees (a Koa context with the provider's `oidc` part). */
interface GrantContext {
  oidc: { params: Record<string, unknown>; client?: { clientId: string } };
  body: unknown;
  set(header: string, value: string): void;
}

export interface ServiceGrantDeps {
  readonly clients: readonly RegisteredClient[];
  readonly clientCredentials: ReturnType<typeof createClientCredentialsGrant>;
  readonly exchange: ReturnType<typeof createTokenExchange>;
  readonly logger: Logger;
}

/** RFC 8693 §2.1 parameters (and the retired `agent_id`, refused by name: token-exchange.ts). */
const EXCHANGE_PARAMETERS = [
  "resource",
  "audience",
  "scope",
  "requested_token_type",
  "subject_token",
  "subject_token_type",
  "actor_token",
  "actor_token_type",
  "agent_id",
];
const CLIENT_CREDENTIALS_PARAMETERS = ["audience", "agent_id", "resource", "scope"];

/**
 * Our services' grants, registered with the provider (docs/identity.md, "Service grants"): the
 * provider authenticates the client (its secret, its allowed grant types) and answers errors as
 * RFC 6749 §5.2 objects; what stays ours is the policy — which service tokens a service may hold,
 * which agent it may name, and the exchange's actor chain and narrowing.
 */
export function registerServiceGrants(provider: Provider, deps: ServiceGrantDeps): void {
  const { logger } = deps;
  const registered = (ctx: GrantContext): RegisteredClient => {
    const id = ctx.oidc.client?.clientId;
    const client = deps.clients.find((c) => c.clientId === id);
    if (!client) {
      throw providerError(
        new OAuthError(400, "unauthorized_client", `client "${id}" is not one of our services`),
      );
    }
    return client;
  };

  provider.registerGrantType(
    CLIENT_CREDENTIALS_GRANT,
    async (ctx: GrantContext) => {
      const client = registered(ctx);
      const result = await asProviderError(() => deps.clientCredentials(formOf(ctx), client), ctx);
      logger.info(
        {
          client_id: client.clientId,
          audience: result.audience,
          agent: result.agent,
          expires_in: result.body.expires_in,
          jti: result.jti,
        },
        "service token issued",
      );
      ctx.body = result.body;
    },
    CLIENT_CREDENTIALS_PARAMETERS,
  );

  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    async (ctx: GrantContext) => {
      const client = registered(ctx);
      const result = await asProviderError(() => deps.exchange(formOf(ctx), client.clientId), ctx);
      const scope = currentCallScope();
      if (scope) scope.principal = result.subject;
      logger.info(
        {
          client_id: client.clientId,
          agent: result.agent,
          actor_chain: describeChain(result),
          session_id: result.subject.sessionId,
          scope: result.body.scope,
          expires_in: result.body.expires_in,
          jti: result.jti,
        },
        "token exchanged for the MCP resource",
      );
      ctx.body = result.body;
    },
    EXCHANGE_PARAMETERS,
  );
}

/** The provider's parsed parameters as the policy code's form (absent ones are left out). */
function formOf(ctx: GrantContext): Form {
  const form = new Map<string, string>();
  for (const [name, value] of Object.entries(ctx.oidc.params)) {
    if (typeof value === "string") form.set(name, value);
  }
  return form;
}

/** Runs our policy; its refusal becomes the provider's, with its headers (e.g. Retry-After). */
async function asProviderError<T>(run: () => Promise<T>, ctx: GrantContext): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err;
    for (const [name, value] of Object.entries(err.headers)) ctx.set(name, value);
    throw providerError(err);
  }
}

/** Our policy's refusal, answered by the provider with the same status, code and description. */
function providerError(err: OAuthError): Error {
  return Object.assign(new errors.OIDCProviderError(err.status, err.error), {
    error_description: err.description,
    expose: true,
  });
}
