/**
 * Service identity (docs/architecture.md, "The delegation chain"): every internal call carries,
 * besides the user's token, a short-lived token of the calling service, issued by the identity
 * provider (OAuth 2.0 client credentials, at the identity service's token endpoint).
 *
 * A service token: header `typ: at+jwt`; claims `iss`, `aud` = the id of the ONE service it is
 * for, `sub` = `client_id` = the calling service's id, `jti`, `iat`, `nbf`, `exp`
 * (SERVICE_TOKEN_TTL), and `agent` when the agent service runs a registered agent. It has no
 * `sid`/`email` (user tokens require them), and a user token's `sub` is its user, never its
 * `client_id`: neither can pass for the other.
 */

/** The services' client ids: the `sub` of their service tokens and the `aud` of tokens for them. */
export const SERVICE_IDS = {
  identity: "identity",
  chat: "chat",
  agent: "agent",
  gateway: "mcp-gateway",
  mcpServer: "mcp-server",
} as const;
export type ServiceId = (typeof SERVICE_IDS)[keyof typeof SERVICE_IDS];
export const ALL_SERVICE_IDS: readonly string[] = Object.values(SERVICE_IDS);

/** Metadata key of the calling service's credential (`Bearer <service token>`); `authorization` stays the user's. */
export const SERVICE_AUTHORIZATION_HEADER = "x-service-authorization";

/** A verified calling service: built only from a verified service token. */
export interface ServiceCaller {
  /** `sub` / `client_id`: which service is calling. */
  readonly clientId: string;
  /** The registered agent the calling service runs (agent service only). */
  readonly agent?: string;
  readonly tokenId: string;
  /** `exp`, epoch seconds. */
  readonly expiresAt: number;
  /** The raw service token: the gateway presents the agent's one as the RFC 8693 `actor_token`. */
  readonly token: string;
}

/** Where a service gets its own credential for a call to `audience` (as `agent`, for the agent service). */
export interface ServiceCredentials {
  /** This service's client id. */
  readonly clientId: string;
  /** A service token for `audience`; cached and renewed before it expires, so a warm call costs a lookup. */
  tokenFor(audience: string, agent?: string): Promise<string>;
  /**
   * The callee refused `token` for its signing key: it is not handed out again, the next call
   * fetches a new one (kept only if the cache still holds that very token).
   */
  forget(audience: string, agent: string | undefined, token: string): void;
}
