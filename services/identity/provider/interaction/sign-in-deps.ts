import type { Provider } from "oidc-provider";
import type { Logger } from "#kit/log/index.js";
import type { CheckCredentials } from "../../auth/credential-check.js";
import type { SessionStore } from "../../sessions/session-store.js";

export interface LoginInteractionDeps {
  readonly provider: () => Provider;
  readonly issuer: string;
  /** The resource a request without `resource` is for (RFC 8707): the client's one resource. */
  readonly defaultResource: (clientId: string) => string;
  readonly checkCredentials: CheckCredentials;
  readonly sessions: SessionStore;
  /** How long a grant (its refresh tokens, its session) lives: REFRESH_TOKEN_TTL. */
  readonly grantLifetimeSec: number;
  readonly trustedProxyHops: number;
  readonly logger: Logger;
}
