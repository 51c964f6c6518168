import type { Queryable } from "../../../kit/db/index.js";
import type { OAuthClient, TokenEndpointAuthMethod } from "./oauth-client.js";

interface ClientRow extends Record<string, unknown> {
  client_id: string;
  client_secret_hash: string | null;
  token_endpoint_auth_method: string;
  client_name: string | null;
  redirect_uris: string[];
}

/** Dynamically registered clients (RFC 7591) in the identity database. */
export interface ClientStore {
  insert(client: OAuthClient, registeredFrom: string | undefined): Promise<void>;
  find(clientId: string): Promise<OAuthClient | undefined>;
  count(): Promise<number>;
  /**
   * Records use (an authorization code issued, a token granted): a client used once is never
   * evicted to make room (docs/identity.md, "Client registration").
   */
  touch(clientId: string): Promise<void>;
  /** Deletes up to `count` clients that were never used, oldest registration first; how many went. */
  evictUnused(count: number): Promise<number>;
}

export function createClientStore(db: Queryable): ClientStore {
  return {
    async insert(client, registeredFrom) {
      await db.query(
        `INSERT INTO oauth_clients (client_id, client_secret_hash, token_endpoint_auth_method, client_name, redirect_uris, registered_from)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6)`,
        [
          client.clientId,
          client.clientSecretHash ?? null,
          client.tokenEndpointAuthMethod,
          client.clientName ?? null,
          JSON.stringify(client.redirectUris),
          registeredFrom ?? null,
        ],
      );
    },
    async find(clientId) {
      const { rows } = await db.query<ClientRow>(
        "SELECT client_id, client_secret_hash, token_endpoint_auth_method, client_name, redirect_uris FROM oauth_clients WHERE client_id = $1",
        [clientId],
      );
      const row = rows[0];
      if (!row) return undefined;
      return {
        clientId: row.client_id,
        kind: "registered",
        clientName: row.client_name ?? undefined,
        redirectUris: row.redirect_uris,
        tokenEndpointAuthMethod: row.token_endpoint_auth_method as TokenEndpointAuthMethod,
        ...(row.client_secret_hash ? { clientSecretHash: row.client_secret_hash } : {}),
      };
    },
    async count() {
      const { rows } = await db.query<{ n: number | string }>("SELECT count(*) AS n FROM oauth_clients");
      return Number(rows[0]?.n ?? 0);
    },
    async touch(clientId) {
      await db.query("UPDATE oauth_clients SET last_used_at = now() WHERE client_id = $1", [clientId]);
    },
    async evictUnused(count) {
      if (count <= 0) return 0;
      const res = await db.query(
        `DELETE FROM oauth_clients WHERE client_id IN (
           SELECT client_id FROM oauth_clients WHERE last_used_at IS NULL ORDER BY created_at, client_id LIMIT $1)`,
        [count],
      );
      return res.rowCount;
    },
  };
}
