import type { Migration } from "#kit/db/index.js";

/**
 * The authorization server's tables (docs/identity.md, "OAuth 2.1 authorization server for MCP
 * clients"), appended to the identity migrations. Secrets, codes and refresh tokens are stored only
 * as SHA-256 hashes (each is ≥ 256 random bits, so a fast unsalted hash is enough and allows lookup).
 */
export const OAUTH_MIGRATIONS: readonly Migration[] = [
  {
    id: "identity_0004_oauth_clients_and_grants",
    sql: `
      -- Clients registered by RFC 7591 dynamic registration. Client ID Metadata Document clients are
      -- not stored: their document is fetched (and cached briefly) when they are used.
      CREATE TABLE oauth_clients (
        client_id text PRIMARY KEY,
        client_secret_hash text,
        token_endpoint_auth_method text NOT NULL,
        client_name text,
        redirect_uris jsonb NOT NULL,
        registered_from text,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz
      );
      CREATE INDEX oauth_clients_created_at ON oauth_clients (created_at);
      -- One row per authorization code, single use. session_id is set when the code is redeemed, so
      -- a second redemption can revoke what the first one issued.
      CREATE TABLE oauth_codes (
        code_hash text PRIMARY KEY,
        client_id text NOT NULL,
        user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        redirect_uri text NOT NULL,
        code_challenge text NOT NULL,
        scope text NOT NULL,
        resource text NOT NULL,
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        session_id text
      );
      CREATE INDEX oauth_codes_expires_at ON oauth_codes (expires_at);
      -- Refresh tokens of MCP clients, bound to their client, scope and resource, and to a login
      -- session (the unit of revocation). Kept apart from refresh_tokens so that AuthService.Refresh
      -- can never turn an MCP client's refresh token into an API token.
      CREATE TABLE oauth_refresh_tokens (
        token_hash text PRIMARY KEY,
        session_id text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        client_id text NOT NULL,
        scope text NOT NULL,
        resource text NOT NULL,
        issued_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz
      );
      CREATE INDEX oauth_refresh_tokens_session ON oauth_refresh_tokens (session_id);`,
  },
];
