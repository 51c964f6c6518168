import { z } from "zod";
import { parseDurationSeconds } from "./duration.js";
import { readSecretFiles } from "./secret-files.js";

/**
 * The product's whole configuration (docs/configuration.md): every variable optional, with defaults that start
 * the embedded stack on loopback. One schema for all services so a variable means the same thing
 * everywhere; each service reads the part it needs.
 */

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const flag = z
  .enum(["0", "1", "true", "false", ""])
  .default("0")
  .transform((v) => v === "1" || v === "true");
const duration = (fallback: string, min = 1) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const s = parseDurationSeconds(v);
      if (s === undefined || s < min) {
        ctx.addIssue({ code: "custom", message: `expected a duration like 900, 15m or 1h, got "${v}"` });
        return z.NEVER;
      }
      return s;
    });
const list = z
  .string()
  .default("")
  .transform((v) =>
    v
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v ? v : undefined));
/** The OTLP encodings this build exports: OTLP/HTTP with JSON bodies only. */
const otlpProtocol = z
  .enum(["http/json", ""], {
    message: 'this build exports OTLP over HTTP with JSON bodies only: "http/json"',
  })
  .optional();

/** Secrets whose development defaults (documented in the README) must never reach production. */
export type SecretName =
  | "GATEWAY_CLIENT_SECRET"
  | "AGENT_CLIENT_SECRET"
  | "MCP_CLIENT_SECRET"
  | "CHAT_CLIENT_SECRET"
  | "SEED_ADMIN_PASSWORD"
  | "SEED_AGENT_PASSWORD"
  | "SEED_VIEWER_PASSWORD"
  | "SIGNING_KEY_SECRET";

const DEVELOPMENT_SECRETS: Readonly<Record<SecretName, string>> = {
  GATEWAY_CLIENT_SECRET: "dev-gateway-secret",
  AGENT_CLIENT_SECRET: "dev-agent-secret",
  MCP_CLIENT_SECRET: "dev-mcp-server-secret",
  CHAT_CLIENT_SECRET: "dev-chat-secret",
  SEED_ADMIN_PASSWORD: "admin-dev-password",
  SEED_AGENT_PASSWORD: "agent-dev-password",
  SEED_VIEWER_PASSWORD: "viewer-dev-password",
  SIGNING_KEY_SECRET: "dev-signing-key-secret",
};

/** Whether `value` is the published development default of `name` (the start banner shows only those). */
export function isDevelopmentDefault(name: SecretName, value: string): boolean {
  return DEVELOPMENT_SECRETS[name] === value;
}

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  HOST: z.string().min(1).default("127.0.0.1"),
  CHAT_PORT: port(8080),
  IDENTITY_PORT: port(8084),
  AGENT_PORT: port(8081),
  GATEWAY_PORT: port(8082),
  MCP_PORT: port(8083),
  // Where the other services are reached; default to their ports on this host.
  CHAT_URL: optionalString.pipe(z.url().optional()),
  // The identity provider's own address (AuthService, the revocation feed); the issuer defaults to it.
  IDENTITY_URL: optionalString.pipe(z.url().optional()),
  AGENT_URL: optionalString.pipe(z.url().optional()),
  GATEWAY_URL: optionalString.pipe(z.url().optional()),
  // Where the gateway reaches the MCP server (defaults to MCP_RESOURCE, its identifier).
  MCP_URL: optionalString.pipe(z.url().optional()),
  // The identity provider's RFC 8693 token endpoint (defaults to AUTH_ISSUER/oauth2/token).
  AUTH_TOKEN_URL: optionalString.pipe(z.url().optional()),
  GATEWAY_MAX_SESSIONS: z.coerce.number().int().min(1).default(1000),
  GATEWAY_SESSION_IDLE: duration("5m"),
  // The MCP revision the gateway speaks: "auto" (server/discover, 2026-07-28 when offered, else
  // 2025) or one revision pinned, e.g. 2026-07-28 or 2025-11-25 (docs/mcp-gateway.md).
  MCP_PROTOCOL_VERSION: z
    .string()
    .trim()
    .regex(/^(auto|\d{4}-\d{2}-\d{2})$/, 'must be "auto" or a revision date like 2026-07-28')
    .default("auto"),
  MCP_CALL_TIMEOUT: duration("30s"),
  MCP_CONNECT_TIMEOUT: duration("5s"),
  // The HTTP the gateway speaks to the MCP server: "auto" (HTTP/2 — h2c on http:, by ALPN on
  // https: — where the server speaks it, else HTTP/1.1) or "1.1" (docs/mcp-gateway.md).
  MCP_HTTP_VERSION: z.enum(["auto", "1.1"], { message: 'expected "auto" or "1.1"' }).default("auto"),
  DATA_DIR: z.string().min(1).default("./.data"),
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
      .optional(),
  ),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  // No default here: unset means "pretty" when stdout is a terminal, JSON lines otherwise (see kit/log/logger.ts).
  LOG_FORMAT: z.enum(["json", "pretty"]).optional(),
  AUTH_ISSUER: optionalString.pipe(z.url().optional()),
  AUTH_JWKS_URL: optionalString.pipe(z.url().optional()),
  API_AUDIENCE: z.string().min(1).default("support-ext-api"),
  MCP_RESOURCE: optionalString.pipe(z.url().optional()),
  ACCESS_TOKEN_TTL: duration("15m"),
  REFRESH_TOKEN_TTL: duration("30d"),
  MCP_TOKEN_TTL: duration("5m"),
  MCP_TOKEN_MODE: z.enum(["exchange", "passthrough"]).default("exchange"),
  MCP_PASSTHROUGH_AUDIENCE: flag,
  MCP_ALLOWED_HOSTS: list,
  MCP_ALLOWED_ORIGINS: list,
  MCP_SESSION_IDLE: duration("30m"),
  MCP_MAX_SESSIONS: z.coerce.number().int().min(1).default(10_000),
  GATEWAY_CLIENT_ID: z.string().min(1).default("mcp-gateway"),
  GATEWAY_CLIENT_SECRET: z.string().min(8).default(DEVELOPMENT_SECRETS.GATEWAY_CLIENT_SECRET),
  // Client secrets of the agent service and the MCP server (service tokens, the revocation feed).
  AGENT_CLIENT_SECRET: z.string().min(8).default(DEVELOPMENT_SECRETS.AGENT_CLIENT_SECRET),
  MCP_CLIENT_SECRET: z.string().min(8).default(DEVELOPMENT_SECRETS.MCP_CLIENT_SECRET),
  CHAT_CLIENT_SECRET: z.string().min(8).default(DEVELOPMENT_SECRETS.CHAT_CLIENT_SECRET),
  // The identity provider's private signing keys are sealed at rest with a key derived from this
  // (docs/identity.md, "Signing keys and rotation"); the previous one still opens keys sealed before
  // it was changed, and every start reseals them.
  SIGNING_KEY_SECRET: z.string().min(16).default(DEVELOPMENT_SECRETS.SIGNING_KEY_SECRET),
  SIGNING_KEY_SECRET_PREVIOUS: z.string().min(16).optional(),
  // Lifetime of service tokens (client credentials): short, renewed ahead of expiry by their holder.
  SERVICE_TOKEN_TTL: duration("5m", 30),
  // Development only: the gateway also serves users calling it directly (buf curl), without the agent service.
  GATEWAY_ALLOW_DIRECT_USERS: flag,
  // Revocation feed: the identity provider's heartbeat, and how long a verifier keeps serving
  // after losing the feed before it refuses every user token (fail closed).
  REVOCATION_HEARTBEAT: duration("2s"),
  REVOCATION_STALENESS_LIMIT: duration("10s"),
  CORS_ORIGINS: list.pipe(
    z.array(
      z.string().regex(/^[a-z][a-z0-9+.-]*:\/\/[^/]+$/i, "must be an origin like chrome-extension://<id>"),
    ),
  ),
  JWKS_CACHE_TTL: duration("10m"),
  JWKS_REFETCH_COOLDOWN: duration("30s"),
  // Allowed clock skew when checking exp/nbf; 0 is allowed (strict), docs/identity.md asks for a few seconds.
  CLOCK_TOLERANCE: duration("5s", 0),
  SHUTDOWN_GRACE: duration("10s"),
  // How long \`npm start\` waits for each service to answer before giving up (a busy 2-core host
  // compiling TypeScript for five processes at once needs minutes, not seconds).
  STACK_START_TIMEOUT: duration("180s"),
  // What `npm start` runs when DATABASE_URL is unset: one embedded PostgreSQL for the whole stack
  // (a schema per service), or one PGlite per service (docs/architecture.md, "Data").
  STACK_DATABASE: z.enum(["postgres", "pglite"]).default("postgres"),
  // Witnessed audit checkpoints (docs/mcp-server.md, "Witnessed checkpoints"): the MCP server signs
  // its chain's head after this many rows, after this long with rows unwitnessed, and at shutdown.
  // The key file (default DATA_DIR/mcp-server-checkpoint-key.pem) lives outside the audit database.
  AUDIT_CHECKPOINT_ROWS: z.coerce.number().int().min(1).default(100),
  AUDIT_CHECKPOINT_INTERVAL: duration("60s"),
  AUDIT_CHECKPOINT_KEY_FILE: optionalString,
  // Log each service's memory this often (0: never); `npm run soak` sets it (docs/performance.md).
  MEMORY_REPORT_INTERVAL: duration("0s", 0),
  // Each process gives back the heap it grew under load once its event loop has been quiet for two
  // windows of this length (0: never; docs/performance.md, "Idle memory").
  IDLE_HEAP_RELEASE_WINDOW: duration("5s", 0),
  // OpenTelemetry tracing (docs/architecture.md, "Telemetry"), by the standard variables: spans
  // are exported only when an exporter or an OTLP endpoint is named.
  OTEL_SDK_DISABLED: flag,
  OTEL_TRACES_EXPORTER: list.pipe(
    z.array(z.enum(["otlp", "console", "none"], { message: 'expected "otlp", "console" or "none"' })),
  ),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalString.pipe(z.url().optional()),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalString.pipe(z.url().optional()),
  OTEL_EXPORTER_OTLP_PROTOCOL: otlpProtocol,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: otlpProtocol,
  OTEL_SERVICE_NAME: optionalString,
  OTEL_TRACES_SAMPLER: z
    .enum([
      "always_on",
      "always_off",
      "traceidratio",
      "parentbased_always_on",
      "parentbased_always_off",
      "parentbased_traceidratio",
    ])
    .default("parentbased_always_on"),
  OTEL_TRACES_SAMPLER_ARG: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return undefined;
      const ratio = Number(v);
      if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
        ctx.addIssue({ code: "custom", message: `expected a ratio from 0 to 1, got "${v}"` });
        return z.NEVER;
      }
      return ratio;
    }),
  LLM_BASE_URL: optionalString.pipe(z.url().optional()),
  LLM_API_KEY: optionalString,
  LLM_MODEL: optionalString,
  LLM_TIMEOUT: duration("60s"),
  SEED_ADMIN_PASSWORD: z.string().min(8).default(DEVELOPMENT_SECRETS.SEED_ADMIN_PASSWORD),
  SEED_AGENT_PASSWORD: z.string().min(8).default(DEVELOPMENT_SECRETS.SEED_AGENT_PASSWORD),
  SEED_VIEWER_PASSWORD: z.string().min(8).default(DEVELOPMENT_SECRETS.SEED_VIEWER_PASSWORD),
  // Login throttling at the edge: failed logins allowed per email / per client address in a sliding window.
  LOGIN_THROTTLE_WINDOW: duration("15m"),
  LOGIN_MAX_FAILURES_PER_EMAIL: z.coerce.number().int().min(1).default(5),
  LOGIN_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(20),
  // What one user may start at chat (docs/chat.md, "Limits per user"); 0 turns a limit off.
  CHAT_USER_TURNS_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(60),
  CHAT_USER_OPEN_TURNS: z.coerce.number().int().min(0).max(1_000_000).default(8),
  CHAT_USER_THREADS_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(30),
  // Reverse proxies in front of chat whose X-Forwarded-For entries are trusted (0: none are).
  TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  AUTH_DEV_ANONYMOUS: flag,
  // Where the browser extension's sign-in lands (chrome.identity's https://<extension id>.chromiumapp.org/):
  // the redirect URIs of its public OAuth client (docs/identity.md, "The extension's sign-in").
  EXTENSION_REDIRECT_URIS: list.default(["https://acokindkkielecaefpadkffcmdniiddb.chromiumapp.org/"]),
  // Client ID Metadata Documents on special-use addresses (loopback, over https): unset means allowed in
  // development and test, refused in production, where setting it is an error (docs/identity.md).
  CLIENT_METADATA_ALLOW_LOOPBACK: z
    .enum(["0", "1", "true", "false", ""])
    .optional()
    .transform((v) => (v === undefined || v === "" ? undefined : v === "1" || v === "true")),
});

export type RawConfig = z.infer<typeof envSchema>;

/** Configuration with derived URLs filled in. */
export interface Config
  extends Omit<
    RawConfig,
    | "AUTH_ISSUER"
    | "AUTH_JWKS_URL"
    | "AUTH_TOKEN_URL"
    | "MCP_RESOURCE"
    | "MCP_URL"
    | "CHAT_URL"
    | "IDENTITY_URL"
    | "AGENT_URL"
    | "GATEWAY_URL"
    | "CLIENT_METADATA_ALLOW_LOOPBACK"
  > {
  readonly AUTH_TOKEN_URL: string;
  readonly MCP_URL: string;
  readonly CHAT_URL: string;
  readonly IDENTITY_URL: string;
  readonly AGENT_URL: string;
  readonly GATEWAY_URL: string;
  readonly AUTH_ISSUER: string;
  readonly AUTH_JWKS_URL: string;
  readonly MCP_RESOURCE: string;
  readonly CLIENT_METADATA_ALLOW_LOOPBACK: boolean;
}

/** Raised by `parseConfig`; `message` is the one line printed before exit code 2. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/**
 * Parses and validates `env` (a secret may come from the file its `<NAME>_FILE` names,
 * `secret-files.ts`); throws ConfigError with one line naming every bad variable.
 */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const files = readSecretFiles(env);
  if (files.problems.length > 0) {
    throw new ConfigError(`invalid configuration: ${files.problems.join("; ")}`);
  }
  const parsed = envSchema.safeParse(files.env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "env"}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
  }
  const raw = parsed.data;
  if (raw.AUTH_DEV_ANONYMOUS && raw.NODE_ENV === "production") {
    throw new ConfigError("invalid configuration: AUTH_DEV_ANONYMOUS=1 is refused when NODE_ENV=production");
  }
  if (raw.GATEWAY_ALLOW_DIRECT_USERS && raw.NODE_ENV === "production") {
    throw new ConfigError(
      "invalid configuration: GATEWAY_ALLOW_DIRECT_USERS=1 is refused when NODE_ENV=production",
    );
  }
  if (raw.CLIENT_METADATA_ALLOW_LOOPBACK && raw.NODE_ENV === "production") {
    throw new ConfigError(
      "invalid configuration: CLIENT_METADATA_ALLOW_LOOPBACK=1 is refused when NODE_ENV=production",
    );
  }
  const local = (port: number) => `http://${hostForUrl(raw.HOST)}:${port}`;
  const identityUrl = raw.IDENTITY_URL ?? local(raw.IDENTITY_PORT);
  const issuer = (raw.AUTH_ISSUER ?? identityUrl).replace(/\/+$/, "");
  const mcpResource = raw.MCP_RESOURCE ?? `${local(raw.MCP_PORT)}/mcp`;
  return {
    ...raw,
    CHAT_URL: raw.CHAT_URL ?? local(raw.CHAT_PORT),
    IDENTITY_URL: identityUrl,
    AGENT_URL: raw.AGENT_URL ?? local(raw.AGENT_PORT),
    GATEWAY_URL: raw.GATEWAY_URL ?? local(raw.GATEWAY_PORT),
    AUTH_ISSUER: issuer,
    AUTH_JWKS_URL: raw.AUTH_JWKS_URL ?? `${issuer}/.well-known/jwks.json`,
    AUTH_TOKEN_URL: raw.AUTH_TOKEN_URL ?? `${issuer}/oauth2/token`,
    MCP_RESOURCE: mcpResource,
    MCP_URL: raw.MCP_URL ?? mcpResource,
    CLIENT_METADATA_ALLOW_LOOPBACK: raw.CLIENT_METADATA_ALLOW_LOOPBACK ?? raw.NODE_ENV !== "production",
  };
}

// A wildcard bind address is not something a client can dial; advertise loopback instead.
function hostForUrl(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * With NODE_ENV=production, refuses every secret in `names` still at its published development
 * default: those values are in the README, so a deployment that forgot to set them is open.
 * Each service names the secrets it uses (the identity provider: all; the gateway: its client secret).
 */
export function refuseDevelopmentSecrets(config: Config, names: readonly SecretName[]): void {
  if (config.NODE_ENV !== "production") return;
  const unset = names.filter((name) => config[name] === DEVELOPMENT_SECRETS[name]);
  if (unset.length > 0) {
    throw new ConfigError(
      `invalid configuration: NODE_ENV=production with development defaults for ${unset.join(", ")}: set real values`,
    );
  }
  // A client secret is guessed offline-free only if it has the entropy of a key (RFC 6749 §10.10):
  // in production at least 32 bytes, e.g. \`openssl rand -base64 32\`; so is the secret sealing the
  // signing keys, which a stolen database dump can be tried against. Seed passwords are people's.
  const short = names.filter(
    (name) =>
      (name.endsWith("_CLIENT_SECRET") || name === "SIGNING_KEY_SECRET") &&
      Buffer.byteLength(config[name]) < MIN_PRODUCTION_SECRET_BYTES,
  );
  if (short.length > 0) {
    throw new ConfigError(
      `invalid configuration: NODE_ENV=production with ${short.join(", ")} shorter than ${MIN_PRODUCTION_SECRET_BYTES} bytes: set random values of at least ${MIN_PRODUCTION_SECRET_BYTES} bytes (openssl rand -base64 32)`,
    );
  }
}

/** The shortest client secret production accepts. */
export const MIN_PRODUCTION_SECRET_BYTES = 32;

/** The exit code of a process refused by its configuration (the runner does not restart it). */
export const EXIT_INVALID_CONFIG = 2;

let loaded: Config | undefined;

export interface LoadConfigOptions {
  /** Secrets this process uses, refused at their development defaults in production. */
  readonly secrets?: readonly SecretName[];
}

/**
 * The process's configuration, parsed once from `process.env`. On bad configuration prints one
 * clear line to stderr and exits with code 2 (a start-up error, not a crash with a stack).
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  if (loaded) return loaded;
  try {
    const config = parseConfig(process.env);
    refuseDevelopmentSecrets(config, options.secrets ?? []);
    loaded = config;
    return loaded;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(EXIT_INVALID_CONFIG);
  }
}
