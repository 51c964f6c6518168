import type { Migration } from "#kit/db/index.js";
import { TICKET_CATEGORIES, TICKET_PRIORITIES, TICKET_STATUSES } from "../domain/ticket.js";

const sqlList = (values: readonly string[]) => values.map((v) => `'${v}'`).join(", ");

/**
 * The MCP server's own tables (database per service, docs/architecture.md, "Data"). Append new migrations; never edit
 * one that has shipped.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    id: "0001_users",
    // The directory of people tickets can be assigned to: seeded known users plus everyone whose
    // verified token this server has seen. `id` is the token's `sub`; seeded rows carry a
    // placeholder id until their owner's first token re-keys them (ON UPDATE CASCADE below).
    sql: `
      CREATE TABLE users (
        id text PRIMARY KEY,
        email text NOT NULL,
        display_name text NOT NULL DEFAULT '',
        roles jsonb NOT NULL DEFAULT '[]',
        source text NOT NULL CHECK (source IN ('seed', 'token')),
        first_seen_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz
      );
      CREATE INDEX users_email ON users (lower(email));`,
  },
  {
    id: "0002_tickets",
    sql: `
      CREATE TABLE tickets (
        id bigserial PRIMARY KEY,
        title text NOT NULL,
        description text NOT NULL DEFAULT '',
        status text NOT NULL DEFAULT 'open' CHECK (status IN (${sqlList(TICKET_STATUSES)})),
        priority text NOT NULL DEFAULT 'medium' CHECK (priority IN (${sqlList(TICKET_PRIORITIES)})),
        category text NOT NULL DEFAULT 'general' CHECK (category IN (${sqlList(TICKET_CATEGORIES)})),
        assignee_id text REFERENCES users (id) ON UPDATE CASCADE,
        source text NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'ai')),
        created_by text NOT NULL,
        updated_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz,
        deleted_by text,
        delete_reason text
      );
      CREATE INDEX tickets_live_created ON tickets (created_at) WHERE deleted_at IS NULL;
      CREATE INDEX tickets_live_status ON tickets (status) WHERE deleted_at IS NULL;
      CREATE INDEX tickets_assignee ON tickets (assignee_id) WHERE deleted_at IS NULL;`,
  },
  {
    id: "0003_integrations",
    sql: `
      CREATE TABLE integrations (
        id text PRIMARY KEY,
        name text NOT NULL,
        kind text NOT NULL,
        description text NOT NULL DEFAULT '',
        enabled boolean NOT NULL,
        health text NOT NULL CHECK (health IN ('healthy', 'degraded', 'down', 'unknown')),
        health_detail text NOT NULL DEFAULT '',
        last_checked_at timestamptz,
        settings jsonb NOT NULL DEFAULT '{}'
      );`,
  },
  {
    id: "0004_audit_log",
    sql: `
      CREATE TABLE audit_log (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        user_id text NOT NULL,
        email text,
        actor_sub text,
        actor_agent text,
        anonymous boolean NOT NULL DEFAULT false,
        tool text NOT NULL,
        arguments jsonb NOT NULL,
        outcome text NOT NULL CHECK (outcome IN ('ok', 'error', 'refused')),
        error_code text,
        error text,
        duration_ms double precision NOT NULL,
        trace_id text,
        request_id text,
        session_id text
      );
      CREATE INDEX audit_log_at ON audit_log (at);
      CREATE INDEX audit_log_user_at ON audit_log (user_id, at);`,
  },
  {
    id: "0005_seed",
    // Seeds run once, like any migration: an operator's later edits (disabling Slack…) stick.
    sql: `
      INSERT INTO users (id, email, display_name, roles, source) VALUES
        ('seed:admin@company.com', 'admin@company.com', 'Admin', '["admin"]', 'seed'),
        ('seed:agent@company.com', 'agent@company.com', 'Support Agent', '["support_agent"]', 'seed'),
        ('seed:viewer@company.com', 'viewer@company.com', 'Viewer', '["viewer"]', 'seed');
      INSERT INTO integrations (id, name, kind, description, enabled, health, health_detail, last_checked_at, settings) VALUES
        ('email', 'Email (SMTP/IMAP)', 'email', 'Creates tickets from support@company.com and mails replies', true, 'healthy', 'mailbox reachable', now(), '{"address": "support@company.com"}'),
        ('slack', 'Slack', 'chat', 'Posts new urgent tickets to #support-alerts', true, 'healthy', 'bot token valid', now(), '{"channel": "#support-alerts"}'),
        ('jira', 'Jira', 'issue_tracker', 'Escalates bug tickets to the ENG project', true, 'degraded', 'API answering slowly (p95 2.1 s)', now(), '{"project": "ENG"}'),
        ('github', 'GitHub Issues', 'issue_tracker', 'Links tickets to repository issues', false, 'unknown', 'not configured', NULL, '{}'),
        ('pagerduty', 'PagerDuty', 'paging', 'Pages the on-call engineer for urgent outages', true, 'healthy', 'service key valid', now(), '{"service": "support-escalations"}'),
        ('zendesk', 'Zendesk', 'helpdesk', 'Legacy helpdesk import (read-only)', false, 'down', 'credentials expired', now(), '{}');`,
  },
  {
    id: "0006_audit_chain",
    // The delegation chain and the hash chain (docs/mcp-server.md, "Tamper evidence").
    // - actor_chain: the verified nested `act`, current actor first; rows written before it had one
    //   actor at most, which becomes their one-link chain.
    // - seq: contiguous position in the chain. Existing rows are numbered by id here; they cannot be
    //   hashed in SQL (the canonical form lives in audit/chain-hash.ts), so audit_head.hash stays
    //   NULL until the first open seals them (data/audit-head.ts). Their `at` is cut to
    //   milliseconds (what a JS Date holds) so the seal's hash covers all of it.
    // - audit_head: the one row every append locks (UPDATE in the append's transaction), which is
    //   what keeps the chain linear under concurrent writers on PostgreSQL. An empty table starts
    //   at GENESIS_HASH (64 zeros) at once.
    sql: `
      ALTER TABLE audit_log
        ADD COLUMN actor_chain jsonb NOT NULL DEFAULT '[]',
        ADD COLUMN seq bigint,
        ADD COLUMN prev_hash text,
        ADD COLUMN row_hash text;
      UPDATE audit_log
        SET actor_chain = jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('sub', actor_sub, 'agent', actor_agent)))
        WHERE actor_sub IS NOT NULL;
      UPDATE audit_log SET at = date_trunc('milliseconds', at);
      UPDATE audit_log a SET seq = n.seq
        FROM (SELECT id, row_number() OVER (ORDER BY id) AS seq FROM audit_log) n
        WHERE a.id = n.id;
      CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq);
      CREATE TABLE audit_head (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        seq bigint NOT NULL,
        hash text,
        legacy_rows bigint NOT NULL
      );
      INSERT INTO audit_head (seq, hash, legacy_rows)
        SELECT count(*), CASE WHEN count(*) = 0 THEN '${"0".repeat(64)}' END, count(*) FROM audit_log;`,
  },
  {
    id: "0007_idempotency_keys",
    // Exactly-once writes (docs/mcp-server.md, "Idempotency keys"): a keyed write claims its row
    // here in the transaction of its change and audit row, so the key, the change and the row
    // commit together or not at all. The primary key is what stops a concurrent duplicate: its
    // INSERT waits for the first one's transaction and then finds the row. `user_id` is the
    // verified token's `sub`, so one user's key never answers another's call. `result` is NULL only
    // inside the claiming transaction (it is filled before COMMIT).
    sql: `
      CREATE TABLE idempotency_keys (
        user_id text NOT NULL,
        key text NOT NULL,
        tool text NOT NULL,
        arguments_hash text NOT NULL,
        result jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, key)
      );
      CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);`,
  },
  {
    id: "0008_confirmations",
    // Confirmation before destruction (docs/mcp-server.md, "Confirmation before destruction"): the row of a confirmed
    // destructive call names who said yes and when. Both columns are NULL on every other row, and a
    // NULL one is left out of the row's hashed content (audit/chain-hash.ts), so rows written before
    // this migration keep their hashes. `server_secrets` holds the key that signs the
    // multi-round-trip `requestState` (MCP 2026-07-28): one value for every replica on one
    // database, kept across restarts, so a question asked by one process is answered at another.
    sql: `
      ALTER TABLE audit_log
        ADD COLUMN confirmed_by text,
        ADD COLUMN confirmed_at timestamptz;
      CREATE TABLE server_secrets (
        name text PRIMARY KEY,
        value text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );`,
  },
  {
    id: "0009_audit_head_prev_hash",
    // The one-statement append of a row inside a change's transaction (data/audit-log.ts
    // `appendAuditEntry`) moves the head with one UPDATE and needs the hash it moved from for the
    // row's `prev_hash`; RETURNING gives only new values before PostgreSQL 18, so the UPDATE keeps
    // the old hash here. Written by that append only; what the chain is, is `seq` and `hash`.
    sql: "ALTER TABLE audit_head ADD COLUMN prev_hash text;",
  },
  {
    id: "0010_audit_append_refused",
    // The append inside a change's transaction is sent with the COMMIT behind it, unawaited
    // (data/audit-log.ts `appendAuditEntry`): an append that writes nothing must fail in the
    // database, aborting the transaction, since no answer comes back to check before the COMMIT
    // runs. The statement calls this, with its reason, when it wrote no row; given the reason for a
    // chain without a head too, it tells the two apart by reading the head again (a new snapshot
    // under READ COMMITTED: a head deleted while the append waited for it is seen gone).
    sql: `
      CREATE FUNCTION audit_append_refused(reason text, reason_without_head text DEFAULT NULL)
      RETURNS boolean LANGUAGE plpgsql AS $$
      BEGIN
        IF reason_without_head IS NOT NULL AND NOT EXISTS (SELECT 1 FROM audit_head) THEN
          reason := reason_without_head;
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'raise_exception', MESSAGE = reason;
      END
      $$;`,
  },
  {
    id: "0011_idempotency_keys_by_agent",
    // A key names the agent acting for its user too (docs/mcp-server.md, "Idempotency keys"): the
    // same user's other agent, or the user's own MCP client, presenting a turn's key is another
    // call, not a replay of that agent's stored answer. Keys written before cannot tell which agent
    // wrote them: they are marked '*' and answer the user's repeats from any agent until they expire
    // (a day), so a turn under way across the upgrade still changes nothing twice.
    sql: `
      ALTER TABLE idempotency_keys ADD COLUMN agent_id text NOT NULL DEFAULT '*';
      ALTER TABLE idempotency_keys ALTER COLUMN agent_id DROP DEFAULT;
      ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
      ALTER TABLE idempotency_keys ADD PRIMARY KEY (user_id, agent_id, key);`,
  },
  {
    id: "0012_audit_seq_from_one",
    // The chain counts from 1 (docs/mcp-server.md, "Tamper evidence (hash chain)"): no writer
    // stores a seq below it, so the database refuses one. NOT VALID: rows already there are not
    // checked here (a start-up must not fail on them); \`npm run audit -- --verify\` reports any as
    // inserted, and every listing shows the chain's rows only.
    sql: "ALTER TABLE audit_log ADD CONSTRAINT audit_log_seq_from_one CHECK (seq >= 1) NOT VALID;",
  },
];
