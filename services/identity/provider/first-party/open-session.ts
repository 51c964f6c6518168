import type { UserRecord } from "../../users/user-store.js";
import { LOGIN_CLIENT_ID } from "../first-party-clients.js";
import type { FirstPartySessionsDeps } from "./first-party-deps.js";
import { grantEnd, type IssuedTokens, issuedTokens } from "./issued-tokens.js";

/** The `gty` of a grant made by AuthService.Login (the provider appends " refresh_token" on rotation). */
const LOGIN_GRANT_TYPE = "password";

/**
 * A new login session for a user whose password was just checked: a provider Grant for
 * LOGIN_CLIENT_ID on the API resource, the session row, and the grant's refresh and access tokens.
 */
export async function openSession(deps: FirstPartySessionsDeps, user: UserRecord): Promise<IssuedTokens> {
  const provider = deps.provider();
  const resource = deps.resources.resourceFor(LOGIN_CLIENT_ID);
  const client = await provider.Client.find(LOGIN_CLIENT_ID);
  if (!client) throw new Error(`the provider has no client ${LOGIN_CLIENT_ID}`);
  const scope = user.scopes.join(" ");
  const grant = new provider.Grant({ accountId: user.id, clientId: LOGIN_CLIENT_ID });
  grant.addResourceScope(resource, scope);
  const grantId = await grant.save();
  const ends = await grantEnd(deps.provider(), grantId);
  await deps.sessions.openForGrant(grantId, user.id, ends);
  const bound = { accountId: user.id, client, grantId, gty: LOGIN_GRANT_TYPE, scope };
  const refreshToken = await new provider.RefreshToken({ ...bound, resource }).save();
  const accessToken = await new provider.AccessToken({
    ...bound,
    resourceServer: new provider.ResourceServer(resource, deps.resources.info(resource)),
  }).save();
  return issuedTokens(deps.provider(), user, { accessToken, refreshToken, grantId });
}
