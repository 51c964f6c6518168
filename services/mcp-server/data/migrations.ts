import type { Migration } from "../../kit/db/index.js";
import { TICKET_CATEGORIES, TICKET_PRIORITIES, TICKET_STATUSES } from "../domain/ticket.js";

const sqlList = (values: readonly string[]) => values.map((v) => `'${v}'`).join(", ");

/**
 * The MCP server's own tables (database per service, brief §2). Append new migrations; never edit
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
];
