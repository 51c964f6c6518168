import type { Provider } from "oidc-provider";
import type { Logger } from "#kit/log/index.js";
import type { KeyRing } from "../keys/key-ring.js";

/** The provider as it is now, and its request listener. */
export interface CurrentProvider {
  readonly provider: Provider;
  readonly handle: ReturnType<Provider["callback"]>;
}

/**
 * Builds the provider, and builds it again whenever the key ring's keys change: its keystore is
 * fixed at construction, while every other state is in the database, so a request begun on one
 * instance finishes on the next. A build that fails keeps the previous provider.
 */
export function keepProviderCurrent(
  build: () => Provider,
  keyRing: KeyRing,
  logger: Logger,
): CurrentProvider {
  const first = build();
  const current = { provider: first, handle: first.callback() };
  keyRing.onKeysChanged(() => {
    try {
      current.provider = build();
      current.handle = current.provider.callback();
      logger.info("authorization server rebuilt with the new signing keys");
    } catch (err) {
      logger.error({ err }, "authorization server could not take the new signing keys; keeping the old ones");
    }
  });
  return current;
}
