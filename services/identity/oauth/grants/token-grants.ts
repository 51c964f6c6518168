import { randomUUID } from "node:crypto";
import type { Logger } from "../../../kit/log/logger.js";
import type { Form } from "../../http/form-body.js";
import { invalidRequest, OAuthError } from "../../http/oauth-response.js";
import type { UserStore } from "../../users/user-store.js";
import type { ResolveClient } from "../clients/resolve-client.js";
import { looksLike } from "../opaque-secret.js";
import { verifierMatches } from "../pkce.js";
import { grantedScopes } from "../scopes.js";
import { authenticateMcpClient } from "./authenticate-mcp-client.js";
import type { CodeStore } from "./code-store.js";
import type { McpTokenIssuer } from "./mcp-tokens.js";
import type { RefreshStore } from "./refresh-store.js";

export const MCP_CLIENT_GRANTS = ["authorization_code", "refresh_token"] as const;

/** Ends a login session everywhere (sessions/session-revoker.ts), with this flow's reasons. */
export type RevokeGrant = (
  sessionId: string,
  reason: "authorization_code_reuse" | "refresh_token_reuse" | "user_gone",
) => Promise<void>;

export interface McpClientGrantsDeps {
  readonly resolveClient: ResolveClient;
  readonly codes: CodeStore;
  readonly refreshes: RefreshStore;
  readonly users: UserStore;
  readonly issue: McpTokenIssuer;
  readonly revoke: RevokeGrant;
  /** Records that the client was used (a token granted), so it is never evicted as unused. */
  readonly clientUsed: (clientId: string) => Promise<void>;
  readonly sessionLifetimeSec: number;
  readonly realm: string;
  readonly logger: Logger;
}

/** A successful token response (RFC 6749 §5.1) and what the log line records. */
export interface GrantResult {
  readonly body: Record<string, unknown>;
  readonly log: Record<string, unknown>;
}

/**
 * The token endpoint's grants for MCP clients (docs/identity.md, "OAuth 2.1 authorization server
 * for MCP clients"): authorization_code with PKCE and refresh_token with rotation. Every refusal
 * is an OAuthError and issues nothing; a reused code or refresh token revokes what it issued.
 */
export function createMcpClientGrants(deps: McpClientGrantsDeps) {
  const { logger } = deps;

  async function authorizationCode(form: Form, clientId: string): Promise<GrantResult> {
    const code = required(form, "code");
    const redirectUri = required(form, "redirect_uri");
    const verifier = required(form, "code_verifier");
    const found = looksLike("code", code) ? await deps.codes.find(code) : ({ kind: "unknown" } as const);
    if (found.kind === "unknown") throw invalidGrant("unknown authorization code");
    if (found.kind === "used") {
      // RFC 6749 §4.1.2 / OAuth 2.1 §4.1.3: a code used twice was intercepted; revoke what it issued.
      if (found.sessionId) {
        await deps.revoke(found.sessionId, "authorization_code_reuse");
        logger.warn(
          { client_id: found.clientId, session_id: found.sessionId },
          "authorization code reuse detected: login session revoked",
        );
      }
      throw invalidGrant("the authorization code was already used");
    }
    if (found.clientId !== clientId)
      throw invalidGrant("the authorization code was issued to another client");
    if (found.expiresAt.getTime() <= Date.now()) throw invalidGrant("the authorization code has expired");
    if (redirectUri !== found.redirectUri) {
      await deps.codes.burn(code);
      throw invalidGrant("redirect_uri does not match the authorization request");
    }
    if (!verifierMatches(verifier, found.codeChallenge)) {
      await deps.codes.burn(code);
      throw invalidGrant("code_verifier does not match the code_challenge");
    }
    const resource = form.get("resource");
    if (resource !== undefined && resource !== found.resource) {
      throw new OAuthError(400, "invalid_target", "resource is not the one the authorization was for");
    }
    const user = await deps.users.findById(found.userId);
    if (!user) throw invalidGrant("the user no longer exists");
    const scopes = grantedScopes(found.scope, user.scopes);
    if (scopes.length === 0) throw invalidGrant("the user no longer holds any of the granted scopes");

    const sessionId = randomUUID();
    let refreshToken = "";
    const won = await deps.codes.redeem(code, sessionId, async (tx) => {
      refreshToken = await deps.refreshes.start(tx, {
        sessionId,
        userId: user.id,
        clientId,
        scope: scopes.join(" "),
        resource: found.resource,
        expiresAt: new Date(Date.now() + deps.sessionLifetimeSec * 1000),
      });
    });
    if (!won) {
      // A concurrent redemption of the same code won: that is reuse too.
      const now = await deps.codes.find(code);
      if (now.kind === "used" && now.sessionId) await deps.revoke(now.sessionId, "authorization_code_reuse");
      throw invalidGrant("the authorization code was already used");
    }
    const minted = await deps.issue({ user, sessionId, clientId, scopes, resource: found.resource });
    return {
      body: tokenBody(minted, refreshToken, scopes),
      log: {
        client_id: clientId,
        user_id: user.id,
        session_id: sessionId,
        scope: scopes.join(" "),
        jti: minted.jti,
        grant: "authorization_code",
      },
    };
  }

  async function refreshToken(form: Form, clientId: string): Promise<GrantResult> {
    const token = required(form, "refresh_token");
    if (!looksLike("refreshToken", token)) throw invalidGrant("invalid refresh token");
    const requested = form.get("scope");
    const resource = form.get("resource");
    const outcome = await deps.refreshes.rotate(token, clientId, (binding) => {
      const original = binding.scope.split(" ");
      if (
        requested
          ?.split(" ")
          .filter(Boolean)
          .some((s) => !original.includes(s))
      ) {
        throw new OAuthError(400, "invalid_scope", "a refresh may only narrow the granted scope");
      }
      if (resource !== undefined && resource !== binding.resource) {
        throw new OAuthError(400, "invalid_target", "resource is not the one the grant is for");
      }
    });
    switch (outcome.kind) {
      case "invalid":
        throw invalidGrant(
          outcome.reason === "wrong_client"
            ? "the refresh token was issued to another client"
            : `refresh token ${outcome.reason}`,
        );
      case "reused":
        await deps.revoke(outcome.sessionId, "refresh_token_reuse");
        logger.warn(
          { client_id: clientId, user_id: outcome.userId, session_id: outcome.sessionId },
          "refresh token reuse detected: login session revoked",
        );
        throw invalidGrant("the refresh token was already used; the grant has been revoked");
      case "rotated": {
        const user = await deps.users.findById(outcome.userId);
        if (!user) {
          await deps.revoke(outcome.sessionId, "user_gone");
          throw invalidGrant("the user no longer exists");
        }
        const scopes = grantedScopes(requested ?? outcome.scope, user.scopes).filter((s) =>
          outcome.scope.split(" ").includes(s),
        );
        if (scopes.length === 0)
          throw new OAuthError(400, "invalid_scope", "the user no longer holds any of the granted scopes");
        const minted = await deps.issue({
          user,
          sessionId: outcome.sessionId,
          clientId,
          scopes,
          resource: outcome.resource,
        });
        return {
          body: tokenBody(minted, outcome.refreshToken, scopes),
          log: {
            client_id: clientId,
            user_id: user.id,
            session_id: outcome.sessionId,
            scope: scopes.join(" "),
            jti: minted.jti,
            grant: "refresh_token",
          },
        };
      }
    }
  }

  return {
    /** Authenticates the MCP client and runs `grant_type` (one of MCP_CLIENT_GRANTS). */
    async handle(
      authorization: string | undefined,
      form: Form,
      grantType: string,
    ): Promise<GrantResult & { clientId: string }> {
      const client = await authenticateMcpClient(authorization, form, deps.resolveClient, deps.realm);
      const result =
        grantType === "authorization_code"
          ? await authorizationCode(form, client.clientId)
          : await refreshToken(form, client.clientId);
      await deps.clientUsed(client.clientId);
      return { ...result, clientId: client.clientId };
    },
  };
}

export type McpClientGrants = ReturnType<typeof createMcpClientGrants>;

function tokenBody(
  minted: { token: string; issuedAt: number; expiresAt: number },
  refreshToken: string,
  scopes: readonly string[],
) {
  return {
    access_token: minted.token,
    token_type: "Bearer",
    expires_in: minted.expiresAt - minted.issuedAt,
    refresh_token: refreshToken,
    scope: scopes.join(" "),
  };
}

function required(form: Form, name: string): string {
  const value = form.get(name);
  if (value === undefined || value === "") throw invalidRequest(`missing parameter ${name}`);
  return value;
}

const invalidGrant = (description: string) => new OAuthError(400, "invalid_grant", description);
