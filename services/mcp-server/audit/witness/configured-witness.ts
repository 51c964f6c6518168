import { createRemovedKeys, type RemovedKeys, SERVICE_IDS } from "#kit/auth/index.js";
import type { Config } from "#kit/config/index.js";
import { configuredClientCredentials, createConfiguredKeySet, type TrustedKeys } from "#kit/service/index.js";
import type { AuditWitnessAccess } from "../audit-service.js";
import { createWitnessClient } from "./witness-client.js";

/**
 * The identity service's audit witness as configured: IDENTITY_URL, called with the MCP server's
 * own service credential (MCP_CLIENT_SECRET at AUTH_TOKEN_URL), its countersignatures checked with
 * the keys at AUTH_JWKS_URL. The server and `npm run audit` reach it the same way.
 *
 * `timeoutMs` bounds each call: the server's 5 s default (a checkpoint the witness is too slow for
 * is taken at the next one); an operator's `--verify` waits longer (`VERIFY_WITNESS_TIMEOUT_MS`), so a
 * witness that is only slow on a busy host is still asked — one that is down is refused at once.
 * `removedKeys`: the server's, filled by its revocation feed, so its credential is replaced and a
 * countersignature refused when the issuer removes their key. `keys`: the server's one key set;
 * a command, which has no feed, fetches the JWKS itself (a removed key is no longer published).
 */
export function configuredWitness(
  config: Config,
  options: { timeoutMs?: number; removedKeys?: RemovedKeys; keys?: TrustedKeys } = {},
): AuditWitnessAccess {
  const { timeoutMs = 5_000 } = options;
  const removedKeys = options.removedKeys ?? createRemovedKeys();
  return {
    client: createWitnessClient({
      identityUrl: config.IDENTITY_URL,
      // The credential's token request is part of asking the witness: the same bound.
      credentials: configuredClientCredentials(config, SERVICE_IDS.mcpServer, { timeoutMs, removedKeys }),
      timeoutMs,
    }),
    keys: {
      issuer: config.AUTH_ISSUER,
      trusted: options.keys ?? createConfiguredKeySet(config, removedKeys, timeoutMs),
    },
  };
}

/** How long `npm run audit -- --verify` waits for each answer of the witness. */
export const VERIFY_WITNESS_TIMEOUT_MS = 30_000;
