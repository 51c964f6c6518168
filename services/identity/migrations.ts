import type { Migration } from "#kit/db/index.js";
import { AGENT_REGISTRATION_MIGRATIONS } from "./agents/agent-registrations.js";
import { AUDIT_WITNESS_MIGRATIONS } from "./audit-witness/migrations.js";
import { OAUTH_MIGRATIONS } from "./oauth/migrations.js";
import { OIDC_MIGRATIONS } from "./provider/storage/oidc-migrations.js";

/**
 * The identity provider's tables, in its own database (`DATA_DIR/identity`, or schema `identity`).
 * Ids keep the `identity_` prefix they had when these tables lived in chat's database.
 * Append new migrations; never edit one that has shipped.
 */
export const IDENTITY_MIGRATIONS: readonly Migration[] = [
  {
    id: "identity_0001_users_and_roles",
    // Role → scope mapping is not stored: it lives in the kit's scope model (one place for the IdP,
    // the MCP server and the gateway). The roles table only constrains which role names exist.
    sql: `
      CREATE TABLE roles (
        name text PRIMARY KEY,
        description text NOT NULL DEFAULT ''
      );
      CREATE TABLE users (
        id text PRIMARY KEY,
        -- Stored lower-cased: the login form is case-insensitive and uniqueness must be too.
        email text NOT NULL UNIQUE CHECK (email = lower(email)),
        name text NOT NULL DEFAULT '',
        password_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE user_roles (
        user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        role text NOT NULL REFERENCES roles (name),
        PRIMARY KEY (user_id, role)
      );`,
  },
  {
    id: "identity_0002_sessions",
    // A login session is the unit of revocation: every access token carries its id as `sid`.
    // Refresh tokens are stored only as SHA-256 hashes; `used_at` marks a rotated (spent) token,
    // so presenting it again is recognisable as reuse.
    sql: `
      CREATE TABLE sessions (
        id text PRIMARY KEY,
        user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz,
        revoke_reason text
      );
      CREATE INDEX sessions_revoked_at ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
      CREATE TABLE refresh_tokens (
        token_hash text PRIMARY KEY,
        session_id text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        issued_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz
      );
      CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);`,
  },
  {
    id: "identity_0003_signing_keys",
    // Every row is published in the JWKS; the newest row whose signs_from has passed signs.
    // Deleting a row retires the key: tokens it signed stop verifying.
    sql: `
      CREATE TABLE signing_keys (
        kid text PRIMARY KEY,
        alg text NOT NULL,
        public_jwk jsonb NOT NULL,
        private_jwk jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        signs_from timestamptz NOT NULL
      );`,
  },
  // The OAuth 2.1 authorization server for MCP clients (oauth/).
  ...OAUTH_MIGRATIONS,
  ...AGENT_REGISTRATION_MIGRATIONS,
  // The MCP server's audit checkpoints, witnessed (audit-witness/).
  ...AUDIT_WITNESS_MIGRATIONS,
  // The authorization server's storage (provider/storage/): oidc-provider's models, cookie keys.
  ...OIDC_MIGRATIONS,
  {
    id: "identity_0007_one_refresh_token_family",
    // Every refresh token is the provider's now, AuthService.Login's included (docs/identity.md,
    // "One issuer, one grant model"); a login session is a provider grant and `sessions` keeps its
    // revocation. Refresh tokens issued before this migration stop working: log in again. The
    // hand-written authorization server's tables (identity_0004) went unread since oidc-provider.
    sql: `
      DROP TABLE refresh_tokens;
      DROP TABLE oauth_refresh_tokens;
      DROP TABLE oauth_codes;
      DROP TABLE oauth_clients;`,
  },
  {
    id: "identity_0008_throttle_events",
    // The throttles' events, shared by the identity replicas (throttle/shared-windows.ts): keys are
    // SHA-256 digests (no email or address), times epoch ms by the recording replica's clock.
    sql: `
      CREATE TABLE throttle_events (
        window_name text NOT NULL,
        key_hash text NOT NULL,
        at_ms bigint NOT NULL
      );
      CREATE INDEX throttle_events_at ON throttle_events (at_ms);
      CREATE INDEX throttle_events_key ON throttle_events (window_name, key_hash);`,
  },
  {
    id: "identity_0009_removed_signing_keys",
    // Signing keys deleted from signing_keys (keys/signing-key-store.ts, deleteSigningKey): the
    // revocation feed tells every verifier, so a removed key's tokens stop verifying at every hop
    // at once, not when each one's cached JWKS expires. Kept for a day (keys/removed-key-sync.ts).
    sql: `
      CREATE TABLE removed_signing_keys (
        kid text PRIMARY KEY,
        removed_at timestamptz NOT NULL DEFAULT now()
      );`,
  },
];
