import { authenticateBearer, type BearerAuthOptions } from "../auth/bearer-auth.js";
import type { Principal } from "../auth/principal.js";
import type { Logger } from "../log/logger.js";
import { authRefusal, countRefusal } from "./auth-refusal.js";

/** What the call's `authorization` header proved. */
export type UserAuthentication =
  | {
      readonly kind: "user";
      readonly principal: Principal | undefined;
      readonly credential: string | undefined;
    }
  /** An expired token sent to a public procedure: treated as absent, the call goes on as it came. */
  | { readonly kind: "expired_on_public" };

export interface UserAuthenticationOptions extends Omit<BearerAuthOptions, "devAnonymous"> {
  readonly logger: Logger;
  readonly devAnonymous?: boolean;
}

/**
 * The user behind `authorization`: verified when present or required (`userOptional` false);
 * none when absent and optional. Any bad token is refused, whether the procedure needs a user or not.
 */
export async function authenticateUser(
  authorization: string | null,
  call: { readonly procedure: string; readonly userOptional: boolean; readonly isPublic: boolean },
  options: UserAuthenticationOptions,
): Promise<UserAuthentication> {
  if (authorization === null && call.userOptional) {
    return { kind: "user", principal: undefined, credential: undefined };
  }
  const outcome = await authenticateBearer(authorization, {
    ...options,
    devAnonymous: options.devAnonymous === true && authorization === null,
  });
  if (!outcome.ok) {
    // A client that attaches its access token to every call sends the expired one to Refresh,
    // which is exactly when it has expired: public procedures treat an expired token as absent.
    // Any other bad token (forged, malformed, revoked, foreign) is still refused everywhere.
    if (outcome.error.reason === "expired" && call.isPublic) return { kind: "expired_on_public" };
    countRefusal("user", outcome.error.reason);
    throw authRefusal(outcome.error);
  }
  return { kind: "user", principal: outcome.principal, credential: outcome.token };
}
