/**
 * Who is calling: the verified identity carried by an access token.
 * Built only by the token verifier (or the explicit development fallback), never from unverified input.
 */
export interface Principal {
  /** `sub`: the user id. */
  readonly userId: string;
  readonly email: string;
  readonly roles: readonly string[];
  /** `scope`, split on spaces. */
  readonly scopes: readonly string[];
  /** `sid`: the login session the token belongs to. */
  readonly sessionId: string;
  /** `jti`: this token's id. */
  readonly tokenId: string;
  /** `exp` in epoch seconds. */
  readonly expiresAt: number;
  /** `act`: who acts on the user's behalf (a gateway, an agent), when the token was exchanged. */
  readonly actor?: { readonly sub: string; readonly agent?: string };
  /** True only for the `AUTH_DEV_ANONYMOUS` development principal. */
  readonly anonymous: boolean;
}

/** Whether the principal holds every one of `required`. */
export function hasScopes(principal: Principal, required: readonly string[]): boolean {
  return required.every((s) => principal.scopes.includes(s));
}

/** Fixed principal of the development fallback (brief §10): read-only, clearly named. */
export const DEV_ANONYMOUS_PRINCIPAL: Principal = Object.freeze({
  userId: "dev-anonymous",
  email: "dev-anonymous@localhost",
  roles: Object.freeze(["viewer"]),
  scopes: Object.freeze(["tickets:read", "integrations:read"]),
  sessionId: "dev-anonymous",
  tokenId: "dev-anonymous",
  expiresAt: Number.MAX_SAFE_INTEGER,
  anonymous: true,
});
