import { type Client, errors, type Provider } from "oidc-provider";
import type { Logger } from "#kit/log/index.js";
import type { RegisteredClient } from "../../clients/client-registry.js";
import type { createTokenExchange } from "../../exchange/token-exchange.js";
import type { Form } from "../../http/form-body.js";
import { OAuthError } from "../../http/oauth-response.js";
import type { createClientCredentialsPolicy } from "../../service-tokens/client-credentials.js";
import type { ResourceServers } from "../resource-servers.js";

/** What a grant handler of oidc-provider sees (a Koa context with the provider's `oidc` part). */
export interface GrantContext {
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

/** The client the provider authenticated, as one of our services; any other is `unauthorized_client`. */
export function registeredClient(
  clients: readonly RegisteredClient[],
  ctx: GrantContext,
): { client: RegisteredClient; authenticated: Client } {
  const authenticated = ctx.oidc.client;
  const client = clients.find((c) => c.clientId === authenticated?.clientId);
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
}

/** The provider's parsed parameters as the policy code's form (absent ones are left out). */
export function formOf(ctx: GrantContext): Form {
  const form = new Map<string, string>();
  for (const [name, value] of Object.entries(ctx.oidc.params)) {
    if (typeof value === "string") form.set(name, value);
  }
  return form;
}

/** Runs our policy; its refusal becomes the provider's, with its headers (e.g. Retry-After). */
export async function asProviderError<T>(run: () => Promise<T>, ctx: GrantContext): Promise<T> {
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
