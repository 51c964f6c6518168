import type { Migration } from "#kit/db/index.js";

/**
 * The audit witness's table (docs/identity.md, "Audit witness"): the MCP server's signed checkpoints,
 * countersigned. Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE, so a checkpoint, once
 * witnessed, cannot be moved back by the service's own code or a stray statement. (The owner of
 * this database could drop the trigger; the point is that the MCP server's database owner is not
 * this database's owner.)
 */
export const AUDIT_WITNESS_MIGRATIONS: readonly Migration[] = [
  {
    id: "identity_0006_audit_checkpoints",
    sql: `
      CREATE TABLE audit_checkpoints (
        id bigserial PRIMARY KEY,
        chain text NOT NULL,
        seq bigint NOT NULL CHECK (seq >= 0),
        hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
        at timestamptz NOT NULL,
        reason text NOT NULL CHECK (reason IN ('rows', 'interval', 'start', 'shutdown')),
        signer_key text NOT NULL,
        signature text NOT NULL,
        witnessed_at timestamptz NOT NULL,
        countersignature text NOT NULL
      );
      CREATE INDEX audit_checkpoints_chain ON audit_checkpoints (chain, id);
      CREATE FUNCTION audit_checkpoints_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'audit_checkpoints is append-only (% refused)', TG_OP;
        END
      $$;
      CREATE TRIGGER audit_checkpoints_no_update_or_delete
        BEFORE UPDATE OR DELETE ON audit_checkpoints
        FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_append_only();
      CREATE TRIGGER audit_checkpoints_no_truncate
        BEFORE TRUNCATE ON audit_checkpoints
        FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoints_append_only();`,
  },
];
