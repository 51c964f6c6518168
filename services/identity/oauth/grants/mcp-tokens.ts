import type { TokenMinter } from "../../tokens/token-minter.js";
import type { UserRecord } from "../../users/user-store.js";

export interface McpTokenRequest {
  readonly user: UserRecord;
  readonly sessionId: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly resource: string;
}

/**
 * An MCP-audience access token for an MCP client (docs/identity.md, "Tokens for MCP clients"):
 * `aud` = the resource, the granted scopes, the login session as `sid`, and the client as the
 * current actor (`act.sub`, RFC 8693 §4.1) — the same claim the MCP server already records as the
 * actor in its audit rows and logs, and that keeps an administrator's role from being borrowed by
 * the client (only an explicitly granted `audit:read` reads the audit trail).
 */
export function createMcpTokenIssuer(options: { minter: TokenMinter; lifetimeSec: number }) {
  return async (r: McpTokenRequest) =>
    options.minter.mint({
      subject: {
        userId: r.user.id,
        email: r.user.email,
        roles: r.user.roles,
        scopes: r.scopes,
        sessionId: r.sessionId,
      },
      audience: r.resource,
      lifetimeSec: options.lifetimeSec,
      actor: { sub: r.clientId },
    });
}

export type McpTokenIssuer = ReturnType<typeof createMcpTokenIssuer>;
