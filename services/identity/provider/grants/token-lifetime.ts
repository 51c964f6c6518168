export const epochNow = () => Math.floor(Date.now() / 1000);

/**
 * `iat` and `exp` set together, so `exp − iat` is exactly the lifetime decided (the provider would
 * read the clock twice) and an exchanged token ends no later than its subject token.
 */
export function lifetime(
  issuedAt: number,
  expiresAt: number,
): { iat: number; exp: number; expiresIn: number } {
  return { iat: issuedAt, exp: expiresAt, expiresIn: expiresAt - issuedAt };
}
