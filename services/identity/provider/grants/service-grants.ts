import { type Client, errors, type Provider } from "oidc-provider";
import { describeChain } from "../../../kit/auth/index.js";
import type { Logger } from "../../../kit/log/index.js";
import { currentCallScope } from "../../../kit/propagation/index.js";
import {
  CLIENT_CREDENTIALS_GRANT,
  type RegisteredClient,
  TOKEN_EXCHANGE_GRANT,
} from "../../clients/client-registry.js";
import { ACCESS_TOKEN_TYPE, actClaim, type createTokenExchange } from "../../exchange/token-exchange.js";
import type { Form } from "../../http/form-body.js";
import { OAuthError } from "../../http/oauth-response.js";
import type { createClientCredentialsPolicy } from "../../service-tokens/client-credentials.js";
import type { ResourceServers } from "../resource-servers.js";
import { withExtraClaims } from "../token-extras.js";

/** What a grant handler of oidc-provider sees (a Koa context with the provider's `oidc` part). */
interface GrantContext {
  oidc: { params: Record<string, unknown>; client?: Client; provider: Provider };
  body: unknown;
  set(header: string, value: string): void;
}

export interface ServiceGrantDeps {
  readonly clients: readonly RegisteredClient[];
  readonly clientCredentials: ReturnType<typeof createClientCredentialsPolicy>;
  readonly exchange: ReturnType<typeof createTokenExchange>;
  readonly resources: ResourceServers;
  /** The MCP server's resource URI: the one resource tokens are exchanged for. */
  readonly mcpResource: string;
  /** SERVICE_TOKEN_TTL and MCP_TOKEN_TTL, seconds. */
  readonly serviceTokenTtlSec: number;
  readonly mcpTokenTtlSec: number;
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
 * RFC 6749 §5.2 objects, and issues and signs the tokens (one issuer: docs/identity.md, "One
 * issuer, one grant model"); what stays ours is the policy — which service tokens a service may
 * hold, which agent it may name, and the exchange's actor chain and narrowing.
 */
export function registerServiceGrants(provider: Provider, deps: ServiceGrantDeps): void {
  const { logger } = deps;
  const registered = (ctx: GrantContext): { client: RegisteredClient; authenticated: Client } => {
    const authenticated = ctx.oidc.client;
    const client = deps.clients.find((c) => c.clientId === authenticated?.clientId);
    if (!client || !authenticated) {
      throw providerError(
        new OAuthError(
          400,
          "unauthorized_client",
          `client "${authenticated?.clientId}" is not one of our services`,
        ),
      );
    }
    return { client, authenticated };
  };

  provider.registerGrantType(
    CLIENT_CREDENTIALS_GRANT,
    async (ctx: GrantContext) => {
      const { client, authenticated } = registered(ctx);
      const decision = await asProviderError(() => deps.clientCredentials(formOf(ctx), client), ctx);
      const { provider } = ctx.oidc;
      const issuedAt = epochNow();
      const token = new provider.ClientCredentials({
        client: authenticated,
        resourceServer: new provider.ResourceServer(
          decision.audience,
          deps.resources.serviceInfo(decision.audience),
        ),
        ...lifetime(issuedAt, issuedAt + deps.serviceTokenTtlSec),
      });
      const accessToken = await withExtraClaims(
        token,
        decision.agent !== undefined ? { agent: decision.agent } : {},
      ).save();
      logger.info(
        {
          client_id: client.clientId,
          audience: decision.audience,
          agent: decision.agent,
          expires_in: deps.serviceTokenTtlSec,
          jti: token.jti,
        },
        "service token issued",
      );
      // RFC 6749 §5.1; no `scope`: service tokens carry none.
      ctx.body = { access_token: accessToken, token_type: "Bearer", expires_in: deps.serviceTokenTtlSec };
    },
    CLIENT_CREDENTIALS_PARAMETERS,
  );

  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    async (ctx: GrantContext) => {
      const { client, authenticated } = registered(ctx);
      const decision = await asProviderError(() => deps.exchange(formOf(ctx), client.clientId), ctx);
      const { provider } = ctx.oidc;
      const issuedAt = epochNow();
      const expiresAt = Math.min(issuedAt + deps.mcpTokenTtlSec, decision.notAfter);
      const scope = decision.scopes.join(" ");
      // The user's login session is the grant the token belongs to (`sid`): revoking it reaches
      // this token at every hop, as it reaches the subject token.
      const token = new provider.AccessToken({
        accountId: decision.subject.userId,
        client: authenticated,
        grantId: decision.subject.sessionId,
        gty: TOKEN_EXCHANGE_GRANT,
        scope,
        resourceServer: new provider.ResourceServer(deps.mcpResource, deps.resources.info(deps.mcpResource)),
        ...(decision.agentTools
          ? { rar: [{ ...decision.agentTools, tools: [...decision.agentTools.tools] }] }
          : {}),
        ...lifetime(issuedAt, expiresAt),
      });
      const accessToken = await withExtraClaims(token, { act: actClaim(decision.actor) }).save();
      const scopeState = currentCallScope();
      if (scopeState) scopeState.principal = decision.subject;
      logger.info(
        {
          client_id: client.clientId,
          agent: decision.agent,
          actor_chain: describeChain(decision),
          session_id: decision.subject.sessionId,
          scope,
          expires_in: expiresAt - issuedAt,
          jti: token.jti,
        },
        "token exchanged for the MCP resource",
      );
      ctx.body = {
        access_token: accessToken,
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: "Bearer",
        expires_in: expiresAt - issuedAt,
        scope,
      };
    },
    EXCHANGE_PARAMETERS,
  );
}

const epochNow = () => Math.floor(Date.now() / 1000);

/**
 * `iat` and `exp` set together, so `exp − iat` is exactly the lifetime decided (the provider would
 * read the clock twice) and an exchanged token ends no later than its subject token.
 */
function lifetime(issuedAt: number, expiresAt: number): { iat: number; exp: number; expiresIn: number } {
  return { iat: issuedAt, exp: expiresAt, expiresIn: expiresAt - issuedAt };
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
