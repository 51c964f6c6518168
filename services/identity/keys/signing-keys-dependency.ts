import { checkedDependency, type Dependency } from "#kit/server/index.js";
import type { KeyRing } from "./key-ring.js";

/**
 * The identity service's signing keys as a health dependency (`/readyz` names it `signing-keys`):
 * ready while the ring holds a key that may sign now. Without one, Login, refresh, exchange and
 * client credentials all fail, so the service is not ready. The ring is in memory (reloaded from the
 * database on its own schedule): asking costs nothing; it is asked whenever the health is.
 */
export function signingKeysDependency(keyRing: Pick<KeyRing, "signer">): Dependency {
  return checkedDependency("signing-keys", () => keyRing.signer());
}
