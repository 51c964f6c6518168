import type { Config } from "#kit/config/index.js";

/** How long each of the provider's models lives (`ttl` of the configuration), in seconds. */
export function tokenLifetimes(config: Config) {
  return {
    // Each resource's own lifetime: MCP_TOKEN_TTL for the MCP server, ACCESS_TOKEN_TTL for the API.
    AccessToken: (_ctx: unknown, token: { resourceServer?: { accessTokenTTL?: number } }) =>
      token.resourceServer?.accessTokenTTL ?? config.MCP_TOKEN_TTL,
    AuthorizationCode: 60,
    RefreshToken: config.REFRESH_TOKEN_TTL,
    Grant: config.REFRESH_TOKEN_TTL,
    Interaction: 900,
    Session: 900,
  };
}
