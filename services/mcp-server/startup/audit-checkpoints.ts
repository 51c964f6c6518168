import type { Config } from "#kit/config/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { checkpointKeyPath, loadOrCreateCheckpointKey } from "../audit/witness/checkpoint-key.js";
import { type Checkpointer, createCheckpointer } from "../audit/witness/checkpointer.js";
import type { WitnessClient } from "../audit/witness/witness-client.js";

/**
 * Signed checkpoints of the audit chain's head, kept by the identity service (docs/mcp-server.md,
 * "Witnessed checkpoints"); the key is a file, outside the database it vouches for.
 */
export function createAuditCheckpoints(
  config: Config,
  logger: Logger,
  database: Database,
  witness: WitnessClient,
): Checkpointer {
  const checkpointKey = loadOrCreateCheckpointKey(checkpointKeyPath(config));
  if (checkpointKey.created) {
    logger.info({ file: checkpointKeyPath(config) }, "generated the audit checkpoint key");
  }
  return createCheckpointer({
    db: database,
    witness,
    signer: checkpointKey,
    logger,
    everyRows: config.AUDIT_CHECKPOINT_ROWS,
    everyMs: config.AUDIT_CHECKPOINT_INTERVAL * 1000,
  });
}
