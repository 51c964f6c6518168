import type { TokenVerifier } from "#kit/auth/index.js";
import { AuthError } from "#kit/auth/index.js";

/**
 * A door that two kinds of token may open (`GET /admin/audit`: an MCP token, or an administrator's
 * own login token): `primary` decides, and only a token it refuses for its audience alone is tried
 * with `secondary`. Every other refusal (signature, expiry, revocation…) stands.
 */
export function eitherAudience(primary: TokenVerifier, secondary: TokenVerifier): TokenVerifier {
  return {
    async verify(token) {
      try {
        return await primary.verify(token);
      } catch (err) {
        if (err instanceof AuthError && err.reason === "wrong_audience") return secondary.verify(token);
        throw err;
      }
    },
  };
}
