import { AuthError } from "../../../kit/auth/auth-error.js";
import type { Principal } from "../../../kit/auth/principal.js";
import type { TokenVerifier } from "../../../kit/auth/token-verifier.js";
import type { Form } from "../http/form-body.js";
import { invalidRequest, OAuthError } from "../http/oauth-response.js";
import type { TokenMinter } from "../tokens/token-minter.js";

export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

/** Our extension parameter naming the agent the client acts for; it lands in `act.agent`. */
export const AGENT_ID_PARAM = "agent_id";
const AGENT_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

export interface TokenExchangeOptions {
  /** Verifies subject tokens exactly like the edge does (user access tokens: aud = API audience). */
  readonly verifier: TokenVerifier;
  readonly isRevoked: (principal: Principal) => boolean;
  readonly minter: TokenMinter;
  /** The one resource tokens may be exchanged for (RFC 8707): the MCP server. */
  readonly mcpResource: string;
  readonly mcpTokenTtlSec: number;
}

/** The issued token and what the endpoint logs about it. */
export interface ExchangeResult {
  readonly body: {
    readonly access_token: string;
    readonly issued_token_type: string;
    readonly token_type: "Bearer";
    readonly expires_in: number;
    readonly scope: string;
  };
  readonly subject: Principal;
  readonly agent: string | undefined;
  readonly scopes: readonly string[];
  readonly jti: string;
}

/**
 * RFC 8693 token exchange for the MCP hop (brief §3). The subject token is verified like any call
 * at the edge (signature, issuer, aud = API audience, expiry, revoked session). The issued token
 * is for the MCP resource only, keeps the user as `sub` and the login session as `sid`, names the
 * client and agent in `act`, carries requested ∩ subject scopes (never wider; an empty
 * intersection is refused) and expires no later than the subject token nor MCP_TOKEN_TTL.
 */
export function createTokenExchange(options: TokenExchangeOptions) {
  return async (form: Form, clientId: string): Promise<ExchangeResult> => {
    const subjectToken = required(form, "subject_token");
    const subjectType = required(form, "subject_token_type");
    if (subjectType !== ACCESS_TOKEN_TYPE) {
      throw invalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    const requestedType = form.get("requested_token_type");
    if (requestedType !== undefined && requestedType !== ACCESS_TOKEN_TYPE) {
      throw invalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    if (form.has("actor_token") || form.has("actor_token_type")) {
      throw invalidRequest(
        `actor_token is not supported; name the agent with the ${AGENT_ID_PARAM} parameter`,
      );
    }
    const resource = required(form, "resource");
    if (resource !== options.mcpResource) {
      throw new OAuthError(
        400,
        "invalid_target",
        "tokens can only be issued for the MCP server's resource URI",
      );
    }
    const audience = form.get("audience");
    if (audience !== undefined && audience !== options.mcpResource) {
      throw new OAuthError(400, "invalid_target", "audience must name the same resource as resource");
    }
    const agent = form.get(AGENT_ID_PARAM);
    if (agent !== undefined && !AGENT_ID.test(agent)) {
      throw invalidRequest(`${AGENT_ID_PARAM} must be 1-128 characters of letters, digits and . _ : @ -`);
    }

    const subject = await verifySubject(subjectToken, options);
    const nowSec = Math.floor(Date.now() / 1000);
    // The verifier allows a few seconds of clock skew; an exchanged token must not start out dead.
    if (subject.expiresAt <= nowSec) throw new OAuthError(400, "invalid_grant", "subject_token: expired");

    const requested = form.has("scope") ? splitScope(form.get("scope") ?? "") : subject.scopes;
    const granted = subject.scopes.filter((s) => requested.includes(s));
    if (granted.length === 0) {
      throw new OAuthError(400, "invalid_scope", "none of the requested scopes is held by the subject token");
    }

    const minted = await options.minter.mint({
      subject: {
        userId: subject.userId,
        email: subject.email,
        roles: subject.roles,
        scopes: granted,
        sessionId: subject.sessionId,
      },
      audience: options.mcpResource,
      lifetimeSec: options.mcpTokenTtlSec,
      notAfter: subject.expiresAt,
      actor: agent ? { sub: clientId, agent } : { sub: clientId },
    });
    return {
      body: {
        access_token: minted.token,
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: "Bearer",
        expires_in: minted.expiresAt - minted.issuedAt,
        scope: granted.join(" "),
      },
      subject,
      agent,
      scopes: granted,
      jti: minted.jti,
    };
  };
}

async function verifySubject(token: string, options: TokenExchangeOptions): Promise<Principal> {
  let principal: Principal;
  try {
    principal = await options.verifier.verify(token);
  } catch (err) {
    // AuthError messages start with a stable reason and never contain the token.
    if (err instanceof AuthError) throw new OAuthError(400, "invalid_grant", `subject_token: ${err.message}`);
    throw err;
  }
  if (options.isRevoked(principal)) {
    throw new OAuthError(400, "invalid_grant", "subject_token: the login session has been revoked");
  }
  // Only user tokens are exchanged; an exchanged token (which has `act`) can't be re-exchanged.
  if (principal.actor)
    throw new OAuthError(400, "invalid_grant", "subject_token is already an exchanged token");
  return principal;
}

function required(form: Form, name: string): string {
  const value = form.get(name);
  if (value === undefined || value === "") throw invalidRequest(`missing parameter ${name}`);
  return value;
}

function splitScope(scope: string): string[] {
  return [...new Set(scope.split(" ").filter(Boolean))];
}
