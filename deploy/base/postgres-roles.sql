-- One PostgreSQL role and one schema per service, each role owning only its schema, so no service
-- reads another's tables (docs/deployment.md, "PostgreSQL roles"). A service picks its schema from
-- its name, "-" becoming "_" (identity, chat, agent, mcp_server), and puts it on the search_path of
-- every connection; mcp-gateway keeps no database and gets no role.
--
-- For the DBA: run it as the database's owner or a superuser, on a database of the stack's own
-- (the development overlay runs it when its PostgreSQL starts). Running it again only sets the
-- passwords again (rotation):
--
--   psql "postgres://ADMIN@HOST:5432/support" -v ON_ERROR_STOP=1 \
--     -v identity_password="…" -v chat_password="…" -v agent_password="…" -v mcp_server_password="…" \
--     -f postgres-roles.sql
--
-- Each service then gets its own DATABASE_URL: postgres://support_<schema>:<password>@HOST:5432/support

\set ON_ERROR_STOP on

-- The login roles: no attribute beyond LOGIN (the defaults are NOSUPERUSER NOCREATEDB NOCREATEROLE
-- NOREPLICATION NOBYPASSRLS); NOINHERIT so a later grant to a role does not widen it silently.
SELECT format('CREATE ROLE %I WITH LOGIN NOINHERIT', r)
  FROM unnest(ARRAY['support_identity', 'support_chat', 'support_agent', 'support_mcp_server']) AS r
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r)
\gexec

-- Each service's pool holds at most 10 connections plus one LISTEN session per replica (2 replicas,
-- and a third pod during a rolling update): 40 leaves room and keeps one service from using up
-- max_connections for the others.
ALTER ROLE support_identity WITH LOGIN NOINHERIT CONNECTION LIMIT 40 PASSWORD :'identity_password';
ALTER ROLE support_chat WITH LOGIN NOINHERIT CONNECTION LIMIT 40 PASSWORD :'chat_password';
ALTER ROLE support_agent WITH LOGIN NOINHERIT CONNECTION LIMIT 40 PASSWORD :'agent_password';
ALTER ROLE support_mcp_server WITH LOGIN NOINHERIT CONNECTION LIMIT 40 PASSWORD :'mcp_server_password';

-- An administrator that is not a superuser (a managed server's) may make a role own a schema only
-- as a member of that role.
SELECT format('GRANT %I TO %I', r, current_user)
  FROM unnest(ARRAY['support_identity', 'support_chat', 'support_agent', 'support_mcp_server']) AS r
 WHERE NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
   AND NOT pg_has_role(current_user, r, 'MEMBER')
\gexec

-- The database: only the four roles connect. CREATE is needed because each service runs
-- `CREATE SCHEMA IF NOT EXISTS <its schema>` at start, which PostgreSQL checks against the database
-- even when the schema exists; it lets a role add schemas, never open another role's.
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database())
\gexec
SELECT format('GRANT CONNECT, CREATE ON DATABASE %I TO %I', current_database(), r)
  FROM unnest(ARRAY['support_identity', 'support_chat', 'support_agent', 'support_mcp_server']) AS r
\gexec
-- Nothing shared through the public schema.
REVOKE ALL ON SCHEMA public FROM PUBLIC;

-- One schema per service, owned by its role, closed to everyone else.
CREATE SCHEMA IF NOT EXISTS identity AUTHORIZATION support_identity;
ALTER SCHEMA identity OWNER TO support_identity;
REVOKE ALL ON SCHEMA identity FROM PUBLIC;
ALTER ROLE support_identity SET search_path = identity;

CREATE SCHEMA IF NOT EXISTS chat AUTHORIZATION support_chat;
ALTER SCHEMA chat OWNER TO support_chat;
REVOKE ALL ON SCHEMA chat FROM PUBLIC;
ALTER ROLE support_chat SET search_path = chat;

CREATE SCHEMA IF NOT EXISTS agent AUTHORIZATION support_agent;
ALTER SCHEMA agent OWNER TO support_agent;
REVOKE ALL ON SCHEMA agent FROM PUBLIC;
ALTER ROLE support_agent SET search_path = agent;

CREATE SCHEMA IF NOT EXISTS mcp_server AUTHORIZATION support_mcp_server;
ALTER SCHEMA mcp_server OWNER TO support_mcp_server;
REVOKE ALL ON SCHEMA mcp_server FROM PUBLIC;
ALTER ROLE support_mcp_server SET search_path = mcp_server;
