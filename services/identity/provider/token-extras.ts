/**
 * Claims a grant handler decided for one token it is about to have the provider issue (the
 * exchange's `act` chain, a service token's `agent`): the provider asks for a token's extra claims
 * through `extraTokenClaims` and spreads them into the JWT (docs/identity.md, "Access tokens").
 * Keyed by the token object itself, so they live exactly as long as it does.
 */
const extras = new WeakMap<object, Record<string, unknown>>();

export function withExtraClaims<T extends object>(token: T, claims: Record<string, unknown>): T {
  extras.set(token, claims);
  return token;
}

/** `configuration.extraTokenClaims`. */
export async function extraTokenClaims(
  _ctx: unknown,
  token: object,
): Promise<Record<string, unknown> | undefined> {
  return extras.get(token);
}
