// What every script reads from its environment (loadtest/README.md). Defaults are the README's
// ports on loopback and the development defaults of `npm start`; run-all.sh sets all of them.
/** The identity service (docs/identity.md): AuthService, UserAdminService and every /oauth2/* request. */
export const IDENTITY = __ENV.IDENTITY || "http://127.0.0.1:8084";
/** The chat service: ChatService only. */
export const CHAT = __ENV.CHAT || "http://127.0.0.1:8080";
export const AGENT = __ENV.AGENT || "http://127.0.0.1:8081";
export const GATEWAY = __ENV.GATEWAY || "http://127.0.0.1:8082";
export const MCP = __ENV.MCP || "http://127.0.0.1:8083";
/** The MCP server's resource URI (MCP_RESOURCE): the audience an exchanged token must name. */
export const MCP_RESOURCE = __ENV.MCP_RESOURCE || `${MCP}/mcp`;

export const VUS = Number(__ENV.VUS || 10);
export const DURATION = __ENV.DURATION || "20s";

/** The agent service's client secret: a gateway caller presents that service's token. */
export const AGENT_CLIENT_SECRET = __ENV.AGENT_CLIENT_SECRET || "dev-agent-secret";
/** The gateway's client id and secret: a direct MCP caller exchanges tokens as the gateway does. */
export const GATEWAY_CLIENT_ID = __ENV.GATEWAY_CLIENT_ID || "mcp-gateway";
export const GATEWAY_CLIENT_SECRET = __ENV.GATEWAY_CLIENT_SECRET || "dev-gateway-secret";
/** The registered agent the scripts act through (services/agent/registry/seed-agents.ts). */
export const AGENT_ID = __ENV.AGENT_ID || "support-assistant";

export const ADMIN_EMAIL = __ENV.ADMIN_EMAIL || "admin@company.com";
export const ADMIN_PASSWORD = __ENV.ADMIN_PASSWORD || "admin-dev-password";
/** Load users: `<LOAD_USER_PREFIX>-<n>@loadtest.example.com`, made by `npm run load-users -- N`. */
export const LOAD_USER_PREFIX = __ENV.LOAD_USER_PREFIX || "load-user";
export const LOAD_USER_PASSWORD = __ENV.LOAD_USER_PASSWORD || "load-user-dev-password";

/** Trend statistics printed for every script (the issue asks for p50/p95/p99). */
export const TREND_STATS = ["avg", "min", "med", "p(50)", "p(95)", "p(99)", "max", "count"];

/** The email of load user `n` (1-based): virtual user n logs in as load user n. */
export function loadUserEmail(n) {
  return `${LOAD_USER_PREFIX}-${n}@loadtest.example.com`;
}

/** One constant-VUs scenario of VUS users for DURATION, named `name`. */
export function constantScenario(name) {
  const scenarios = {};
  scenarios[name] = { executor: "constant-vus", vus: VUS, duration: DURATION };
  return scenarios;
}
