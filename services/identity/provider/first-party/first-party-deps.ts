import type { Provider } from "oidc-provider";
import type { SessionStore } from "../../sessions/session-store.js";
import type { UserStore } from "../../users/user-store.js";
import type { ResourceServers } from "../resource-servers.js";

export interface FirstPartySessionsDeps {
  /** The provider as it is now (it is rebuilt when the signing keys change). */
  readonly provider: () => Provider;
  readonly resources: ResourceServers;
  readonly sessions: SessionStore;
  readonly users: UserStore;
  /** The identity service's own address, once it listens (the token endpoint is on it). */
  readonly ownUrl: () => string | undefined;
  readonly timeoutMs?: number;
}
