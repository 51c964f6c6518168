import type { Database, Queryable } from "../../../kit/db/index.js";
import { hashOpaque, newOpaque } from "../opaque-secret.js";

/** What an authorization code stands for (bound at the authorization endpoint). */
export interface CodeGrant {
  readonly clientId: string;
  readonly userId: string;
  readonly redirectUri: string;
  readonly codeChallenge: string;
  readonly scope: string;
  readonly resource: string;
}

export type CodeLookup =
  | ({ readonly kind: "fresh"; readonly expiresAt: Date } & CodeGrant)
  /** Already redeemed (or burnt): `sessionId` is what its redemption issued, if anything. */
  | { readonly kind: "used"; readonly clientId: string; readonly sessionId: string | undefined }
  | { readonly kind: "unknown" };

export interface CodeStore {
  create(grant: CodeGrant, lifetimeSec: number): Promise<string>;
  find(code: string): Promise<CodeLookup>;
  /**
   * Redeems the code in one transaction with what it issues: marks it used (only if it still
   * wasn't: two concurrent redemptions can't both win), records the session and creates it with
   * its first refresh token via `issue`. False when another redemption won.
   */
  redeem(code: string, sessionId: string, issue: (tx: Queryable) => Promise<void>): Promise<boolean>;
  /** Makes a code unusable without issuing anything (a failed redemption by its own client). */
  burn(code: string): Promise<void>;
  deleteExpiredBefore(before: Date): Promise<number>;
}

interface CodeRow extends Record<string, unknown> {
  client_id: string;
  user_id: string;
  redirect_uri: string;
  code_challenge: string;
  scope: string;
  resource: string;
  expires_at: Date;
  used_at: Date | null;
  session_id: string | null;
}

export function createCodeStore(db: Database): CodeStore {
  return {
    async create(grant, lifetimeSec) {
      const code = newOpaque("code");
      await db.query(
        `INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, code_challenge, scope, resource, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          hashOpaque(code),
          grant.clientId,
          grant.userId,
          grant.redirectUri,
          grant.codeChallenge,
          grant.scope,
          grant.resource,
          new Date(Date.now() + lifetimeSec * 1000).toISOString(),
        ],
      );
      return code;
    },
    async find(code) {
      const { rows } = await db.query<CodeRow>(
        `SELECT client_id, user_id, redirect_uri, code_challenge, scope, resource, expires_at, used_at, session_id
           FROM oauth_codes WHERE code_hash = $1`,
        [hashOpaque(code)],
      );
      const row = rows[0];
      if (!row) return { kind: "unknown" };
      if (row.used_at)
        return { kind: "used", clientId: row.client_id, sessionId: row.session_id ?? undefined };
      return {
        kind: "fresh",
        clientId: row.client_id,
        userId: row.user_id,
        redirectUri: row.redirect_uri,
        codeChallenge: row.code_challenge,
        scope: row.scope,
        resource: row.resource,
        expiresAt: row.expires_at,
      };
    },
    redeem(code, sessionId, issue) {
      return db.transaction(async (tx) => {
        const res = await tx.query(
          "UPDATE oauth_codes SET used_at = now(), session_id = $2 WHERE code_hash = $1 AND used_at IS NULL",
          [hashOpaque(code), sessionId],
        );
        if (res.rowCount === 0) return false;
        await issue(tx);
        return true;
      });
    },
    async burn(code) {
      await db.query("UPDATE oauth_codes SET used_at = now() WHERE code_hash = $1 AND used_at IS NULL", [
        hashOpaque(code),
      ]);
    },
    async deleteExpiredBefore(before) {
      const res = await db.query("DELETE FROM oauth_codes WHERE expires_at < $1", [before.toISOString()]);
      return res.rowCount;
    },
  };
}
