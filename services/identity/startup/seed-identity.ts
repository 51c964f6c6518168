import type { Config } from "#kit/config/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { SEED_AGENT_REGISTRATIONS } from "../agents/agent-registrations.js";
import { reconcileSeededAgents } from "../agents/reconcile-seeded-agents.js";
import { ensureSigningKey } from "../keys/signing-key-store.js";
import { seedDevPrincipal } from "../users/seed-dev-principal.js";
import { seedUsers, seedUsersFrom } from "../users/seed-users.js";

/** What the identity database holds before anything is served: users, agents, a signing key. */
export async function seedIdentity(db: Database, config: Config, logger: Logger): Promise<void> {
  await seedUsers(db, seedUsersFrom(config), logger);
  // Every start, not only the first: a tool added since reaches the seeded agents (docs/adding-a-tool.md).
  await reconcileSeededAgents(db, SEED_AGENT_REGISTRATIONS, logger);
  if (config.AUTH_DEV_ANONYMOUS) await seedDevPrincipal(db);
  const firstKey = await ensureSigningKey(db);
  if (firstKey) logger.info({ kid: firstKey.kid }, "generated the first signing key");
}
