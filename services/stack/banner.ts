import { type Config, isDevelopmentDefault, type SecretName } from "#kit/config/index.js";

const DEFAULT_IDENTITY_URL = "http://127.0.0.1:8084";

/** The seeded logins (see the MCP server's seed migration) and the setting holding each password. */
const SEEDED: readonly { email: string; secret: SecretName }[] = [
  { email: "admin@company.com", secret: "SEED_ADMIN_PASSWORD" },
  { email: "agent@company.com", secret: "SEED_AGENT_PASSWORD" },
  { email: "viewer@company.com", secret: "SEED_VIEWER_PASSWORD" },
];

/**
 * What `npm start` prints on a terminal once the stack is ready: where each service answers, who can
 * log in, and the README's login command ready to paste (it reads SEED_ADMIN_PASSWORD from the shell
 * as npm start does, else the development default). A password is shown only when it is the
 * published development default; one set through the environment stays out of the terminal.
 */
export function renderBanner(config: Config, host: string, readyMs: number): string {
  const url = (port: number) => `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const password = (secret: SecretName) => {
    const value = config[secret];
    return isDevelopmentDefault(secret, value) ? value : `(from ${secret})`;
  };
  // `npm run login` finds the default address itself; another one is named so the line still works.
  const identityUrl = url(config.IDENTITY_PORT);
  const urlFlag = identityUrl === DEFAULT_IDENTITY_URL ? "" : ` -- --url ${identityUrl}`;
  return [
    "",
    `support-ext is ready (${(readyMs / 1000).toFixed(1)} s)`,
    `  identity                ${url(config.IDENTITY_PORT)}  (logins, tokens, OAuth)`,
    `  chat                    ${url(config.CHAT_PORT)}`,
    `  agent                   ${url(config.AGENT_PORT)}`,
    `  mcp-gateway             ${url(config.GATEWAY_PORT)}`,
    `  mcp-server              ${url(config.MCP_PORT)}/mcp`,
    "",
    "Logins:",
    ...SEEDED.map((s) => `  ${s.email.padEnd(20)} ${password(s.secret)}`),
    "",
    'Log in as admin (sets $TOKEN; then README, "Send your first message"):',
    `  eval "$(npm run -s login${urlFlag})"`,
    "",
    "Ctrl-C stops everything.",
    "",
  ].join("\n");
}
