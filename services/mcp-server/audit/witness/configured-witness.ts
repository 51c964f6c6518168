import { type RemovedKeys, SERVICE_IDS } from "#kit/auth/index.js";
import type { Config } from "#kit/config/index.js";
import { configuredClientCredentials } from "#kit/service/index.js";
import type { AuditWitnessAccess } from "../audit-service.js";
import { witnessKeys } from "./countersignature-check.js";
import { createWitnessClient } from "./witness-client.js";

/**
 * The identity service's audit witness as configured: IDENTITY_URL, called with the MCP server's
 * own service credential (MCP_CLIENT_SECRET at AUTH_TOKEN_URL), its countersignatures checked with
 * the keys at AUTH_JWKS_URL. The server and `npm run audit` reach it the same way.
 *
 * `timeoutMs` bounds each call: the server's 5 s default (a checkpoint the witness is too slow for
 * is taken at the next one); an operator's `--verify` waits longer (`VERIFY_WITNESS_TIMEOUT_MS`), so a
 * witness that is only slow on a busy host is still asked — one that is down is refused at once.
 * `removedKeys`: the server's, so its credential is replaced when the issuer removes its key.
 */
export function configuredWitness(
  config: Config,
  timeoutMs = 5_000,
  removedKeys?: RemovedKeys,
): AuditWitnessAccess {
  return {
    client: createWitnessClient({
      identityUrl: config.IDENTITY_URL,
      // The credential's token request is part of asking the witness: the same bound.
      credentials: configuredClientCredentials(config, SERVICE_IDS.mcpServer, {
        timeoutMs,
        ...(removedKeys ? { removedKeys } : {}),
      }),
      timeoutMs,
    }),
    keys: witnessKeys(config, timeoutMs),
  };
}

/** How long `npm run audit -- --verify` waits for each answer of the witness. */
export const VERIFY_WITNESS_TIMEOUT_MS = 30_000;
