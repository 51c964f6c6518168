import type { Migration } from "#kit/db/index.js";

/**
 * The table behind oidc-provider's storage adapter (`sql-adapter.ts`). Ids carry an `oidc_` prefix so
 * they cannot clash with `identity_*` (services/identity/migrations.ts) when both lists are applied to
 * one database. Append new migrations; never edit one that has shipped.
 */
export const OIDC_MIGRATIONS: readonly Migration[] = [
  {
    id: "oidc_0001_models",
    // One row per stored model instance: oidc-provider gives every model (AccessToken, Grant,
    // Session, Interaction, Client, …) the same key/value contract, so one table keyed by
    // (model, id) holds them all; the payload stays opaque jsonb because the provider adds fields
    // across releases. The other columns are copies of payload fields the adapter looks rows up by
    // (grantId, userCode, uid), plus what the adapter itself owns: expiry and consumption.
    // expires_at is NULL for models stored without a lifetime (e.g. dynamically registered clients).
    sql: `
      CREATE TABLE oidc_models (
        model text NOT NULL,
        id text NOT NULL,
        payload jsonb NOT NULL,
        grant_id text,
        user_code text,
        uid text,
        expires_at timestamptz,
        consumed_at timestamptz,
        PRIMARY KEY (model, id)
      );
      CREATE INDEX oidc_models_grant_id ON oidc_models (grant_id) WHERE grant_id IS NOT NULL;
      CREATE INDEX oidc_models_user_code ON oidc_models (user_code) WHERE user_code IS NOT NULL;
      CREATE INDEX oidc_models_uid ON oidc_models (uid) WHERE uid IS NOT NULL;
      CREATE INDEX oidc_models_expires_at ON oidc_models (expires_at) WHERE expires_at IS NOT NULL;`,
  },
  {
    id: "oidc_0002_cookie_keys_and_created_at",
    // The keys that sign the provider's cookies (interaction and session): stored, so every replica
    // and every restart accepts the cookies of the others. `created_at` orders registered clients
    // for the registration cap's eviction (never-used first, oldest first).
    sql: `
      CREATE TABLE oidc_cookie_keys (
        key text PRIMARY KEY,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      ALTER TABLE oidc_models ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();`,
  },
];
