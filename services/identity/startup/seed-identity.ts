import type { Config } from "#kit/config/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { SEED_AGENT_REGISTRATIONS } from "../agents/agent-registrations.js";
import { reconcileSeededAgents } from "../agents/reconcile-seeded-agents.js";
import type { KeySealer } from "../keys/key-sealing.js";
import { ensureSigningKey, resealSigningKeys } from "../keys/signing-key-store.js";
import { seedDevPrincipal } from "../users/seed-dev-principal.js";
import { seedUsers, seedUsersFrom } from "../users/seed-users.js";

/**
 * What the identity database holds before anything is served: users, agents, a signing key — every
 * key sealed under the current SIGNING_KEY_SECRET (a key stored in clear before sealing existed, or
 * sealed under SIGNING_KEY_SECRET_PREVIOUS, is sealed again).
 */
export async function seedIdentity(
  db: Database,
  config: Config,
  logger: Logger,
  sealer: KeySealer,
): Promise<void> {
  await seedUsers(db, seedUsersFrom(config), logger);
  // Every start, not only the first: a tool added since reaches the seeded agents (docs/adding-a-tool.md).
  await reconcileSeededAgents(db, SEED_AGENT_REGISTRATIONS, logger);
  if (config.AUTH_DEV_ANONYMOUS) await seedDevPrincipal(db);
  const firstKey = await ensureSigningKey(db, sealer);
  if (firstKey) logger.info({ kid: firstKey.kid }, "generated the first signing key");
  const resealed = await resealSigningKeys(db, sealer);
  if (resealed.length > 0) {
    logger.info(
      { kids: resealed },
      "signing keys sealed with SIGNING_KEY_SECRET (they were in clear or under the previous secret)",
    );
  }
}
