import type { Database, Queryable } from "../../../kit/db/index.js";
import { hashOpaque, newOpaque } from "../opaque-secret.js";

/** What a refresh token of an MCP client is bound to. */
export interface RefreshBinding {
  readonly sessionId: string;
  readonly userId: string;
  readonly clientId: string;
  readonly scope: string;
  readonly resource: string;
  /** The login session's end: refreshing never extends it. */
  readonly expiresAt: Date;
}

export type RefreshOutcome =
  | ({ readonly kind: "rotated"; readonly refreshToken: string } & RefreshBinding)
  /** A spent token presented again: the caller revokes the session (docs/identity.md, "Refresh"). */
  | {
      readonly kind: "reused";
      readonly sessionId: string;
      readonly userId: string;
      readonly clientId: string;
    }
  | { readonly kind: "invalid"; readonly reason: "unknown" | "expired" | "revoked" | "wrong_client" };

export interface RefreshStore {
  /** Creates the login session and its first refresh token, inside `tx` (the code's redemption). */
  start(tx: Queryable, binding: RefreshBinding): Promise<string>;
  /**
   * Spends `token` and issues its successor, atomically; only for the client it was issued to.
   * `accept` sees the binding first and may throw to refuse the request with nothing spent.
   */
  rotate(
    token: string,
    clientId: string,
    accept?: (binding: RefreshBinding) => void,
  ): Promise<RefreshOutcome>;
}

interface Row extends Record<string, unknown> {
  session_id: string;
  user_id: string;
  client_id: string;
  scope: string;
  resource: string;
  used_at: Date | null;
  expires_at: Date;
  revoked_at: Date | null;
}

/**
 * Refresh tokens of MCP clients (table oauth_refresh_tokens): single use, rotated in the
 * transaction that spends the old one, like the extension's (sessions/session-store.ts), but bound
 * to the client, scope and resource of the grant and never usable with AuthService.Refresh.
 */
export function createRefreshStore(db: Database): RefreshStore {
  const insertToken = async (tx: Queryable, b: Omit<RefreshBinding, "userId">): Promise<string> => {
    const token = newOpaque("refreshToken");
    await tx.query(
      `INSERT INTO oauth_refresh_tokens (token_hash, session_id, client_id, scope, resource, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [hashOpaque(token), b.sessionId, b.clientId, b.scope, b.resource, b.expiresAt.toISOString()],
    );
    return token;
  };
  return {
    async start(tx, binding) {
      await tx.query("INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, $3)", [
        binding.sessionId,
        binding.userId,
        binding.expiresAt.toISOString(),
      ]);
      return insertToken(tx, binding);
    },
    async rotate(token, clientId, accept) {
      const hash = hashOpaque(token);
      const { rows } = await db.query<Row>(
        `SELECT rt.session_id, s.user_id, rt.client_id, rt.scope, rt.resource, rt.used_at, rt.expires_at, s.revoked_at
           FROM oauth_refresh_tokens rt JOIN sessions s ON s.id = rt.session_id WHERE rt.token_hash = $1`,
        [hash],
      );
      const row = rows[0];
      if (!row) return { kind: "invalid", reason: "unknown" };
      // Another client's token says nothing about this one's session: refuse, touch nothing.
      if (row.client_id !== clientId) return { kind: "invalid", reason: "wrong_client" };
      if (row.revoked_at) return { kind: "invalid", reason: "revoked" };
      const reused = {
        kind: "reused",
        sessionId: row.session_id,
        userId: row.user_id,
        clientId: row.client_id,
      } as const;
      if (row.used_at) return reused;
      if (row.expires_at.getTime() <= Date.now()) return { kind: "invalid", reason: "expired" };
      const binding: RefreshBinding = {
        sessionId: row.session_id,
        userId: row.user_id,
        clientId: row.client_id,
        scope: row.scope,
        resource: row.resource,
        expiresAt: row.expires_at,
      };
      accept?.(binding);
      const next = await db.transaction(async (tx) => {
        // The conditional UPDATE is the single-use guarantee (as in session-store.ts).
        const res = await tx.query(
          `UPDATE oauth_refresh_tokens rt SET used_at = now() FROM sessions s
            WHERE rt.token_hash = $1 AND rt.used_at IS NULL AND s.id = rt.session_id AND s.revoked_at IS NULL`,
          [hash],
        );
        return res.rowCount === 0 ? undefined : insertToken(tx, binding);
      });
      return next ? { kind: "rotated", refreshToken: next, ...binding } : reused;
    },
  };
}
