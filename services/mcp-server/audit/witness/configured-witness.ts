import { configuredClientCredentials } from "../../../kit/auth/client-credentials.js";
import { SERVICE_IDS } from "../../../kit/auth/service-identity.js";
import type { Config } from "../../../kit/config/config.js";
import type { AuditWitnessAccess } from "../audit-service.js";
import { witnessKeys } from "./countersignature-check.js";
import { createWitnessClient } from "./witness-client.js";

/**
 * The identity service's audit witness as configured: IDENTITY_URL, called with the MCP server's
 * own service credential (MCP_CLIENT_SECRET at AUTH_TOKEN_URL), its countersignatures checked with
 * the keys at AUTH_JWKS_URL. The server and `npm run audit` reach it the same way.
 */
export function configuredWitness(config: Config): AuditWitnessAccess {
  return {
    client: createWitnessClient({
      identityUrl: config.IDENTITY_URL,
      credentials: configuredClientCredentials(config, SERVICE_IDS.mcpServer),
    }),
    keys: witnessKeys(config),
  };
}
