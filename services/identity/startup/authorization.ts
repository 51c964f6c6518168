import type { TokenVerifier } from "#kit/auth/index.js";
import type { Config } from "#kit/config/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import type { AgentDirectory } from "../agents/agent-directory.js";
import type { KeyRing } from "../keys/key-ring.js";
import {
  type AuthorizationServer,
  type AuthorizationServerTestOptions,
  startAuthorizationServer,
} from "../provider/authorization-server.js";
import { resourceServers } from "../provider/resource-servers.js";
import { createClientAuthThrottle } from "../throttle/client-auth-throttle.js";
import type { LoginThrottle, WindowFactory } from "../throttle/login-throttle.js";
import type { UserStore } from "../users/user-store.js";
import type { Revocations } from "./revocations.js";
import { serviceGrantsFrom } from "./service-grants-config.js";

/**
 * The OAuth 2.1 authorization server (docs/identity.md, "Authorization server"), on oidc-provider:
 * the one issuer of every token — first-party logins, MCP clients' authorization code flow, our
 * services' grants — at one token endpoint.
 */
export function startOAuth(options: {
  readonly db: Database;
  readonly config: Config;
  readonly logger: Logger;
  readonly users: UserStore;
  readonly agents: AgentDirectory;
  readonly keyRing: KeyRing;
  readonly verifier: TokenVerifier;
  readonly revocations: Revocations;
  readonly loginThrottle: LoginThrottle;
  readonly dummyHash: Promise<string>;
  readonly windows: WindowFactory;
  readonly ownUrl: () => string | undefined;
  readonly testOptions: AuthorizationServerTestOptions | undefined;
}): Promise<AuthorizationServer> {
  const { config, keyRing, revocations, windows } = options;
  return startAuthorizationServer({
    db: options.db,
    config,
    logger: options.logger,
    users: options.users,
    keyRing,
    sessions: revocations.sessions,
    revoke: revocations.revoke,
    loginThrottle: options.loginThrottle,
    dummyHash: options.dummyHash,
    resources: resourceServers(config, keyRing),
    windows,
    ownUrl: options.ownUrl,
    serviceGrants: serviceGrantsFrom(config, {
      verifier: options.verifier,
      isRevoked: revocations.isRevoked,
      keyRing,
      agents: options.agents,
    }),
    // The same window and per-address bound as failed logins: guessing a client secret is guessing
    // a password. Past it failures are held, never the right secret refused.
    clientFailures: createClientAuthThrottle({
      failures: windows("client_auth_address", {
        windowMs: config.LOGIN_THROTTLE_WINDOW * 1000,
        limit: config.LOGIN_MAX_FAILURES_PER_ADDRESS,
      }),
    }),
    ...options.testOptions,
  });
}
