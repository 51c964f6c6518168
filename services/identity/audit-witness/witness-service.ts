import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { AuditWitnessService } from "#gen/supportext/audit/v1/witness_pb.js";
import { checkpointFromProto, checkpointSignatureProblem, witnessedToProto } from "#kit/audit/index.js";
import { SERVICE_IDS } from "#kit/auth/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { kCaller } from "#kit/propagation/index.js";
import type { KeyRing } from "../keys/key-ring.js";
import { insertCheckpoint, latestCheckpoint, lockChain, nextCheckpointId } from "./checkpoint-store.js";
import { countersign } from "./countersign.js";

/**
 * Who may call the witness (docs/architecture.md, "Who may call what"): the MCP server, as itself,
 * with no user. For the server's caller policy (caller-rules.ts).
 */
export const AUDIT_WITNESS_CALLERS: readonly string[] = [SERVICE_IDS.mcpServer];

/** The chain is the verified calling service: a caller can neither read nor move another's. */
function chainOf(ctx: HandlerContext): string {
  const caller = ctx.values.get(kCaller);
  if (!caller) throw new ConnectError("the audit witness needs a service credential", Code.Unauthenticated);
  return caller.clientId;
}

/**
 * `supportext.audit.v1.AuditWitnessService` (proto/supportext/audit/v1/witness.proto): keeps the MCP
 * server's signed checkpoints in this service's database, countersigned, and never lets the
 * record move backwards — which is what lets `npm run audit -- --verify` tell a rewritten,
 * truncated or emptied audit table from an intact one (docs/identity.md, "Audit witness").
 */
export function registerAuditWitnessService(
  router: ConnectRouter,
  deps: { db: Database; keyRing: KeyRing; issuer: string; logger: Logger },
): void {
  const { db, keyRing, issuer, logger } = deps;
  router.service(AuditWitnessService, {
    async recordCheckpoint(req, ctx) {
      const chain = chainOf(ctx);
      const checkpoint = checkpointFromProto(req.checkpoint);
      const malformed = typeof checkpoint === "string" ? checkpoint : checkpointSignatureProblem(checkpoint);
      if (malformed !== undefined || typeof checkpoint === "string") {
        logger.warn({ chain, reason: malformed }, "audit checkpoint refused");
        throw new ConnectError(`checkpoint refused: ${malformed}`, Code.InvalidArgument);
      }
      const witnessed = await db.transaction(async (tx) => {
        await lockChain(tx, chain);
        const latest = await latestCheckpoint(tx, chain);
        const back =
          latest === undefined
            ? undefined
            : checkpoint.seq < latest.checkpoint.seq
              ? `seq ${checkpoint.seq} is behind the witnessed seq ${latest.checkpoint.seq}`
              : checkpoint.seq === latest.checkpoint.seq && checkpoint.hash !== latest.checkpoint.hash
                ? `seq ${checkpoint.seq} was witnessed with another hash`
                : undefined;
        if (back !== undefined) {
          // Loud: a chain that shrank or changed under a witnessed head is what the witness is for.
          logger.error(
            { chain, seq: checkpoint.seq, hash: checkpoint.hash },
            `audit checkpoint refused: ${back}`,
          );
          throw new ConnectError(`checkpoint refused: ${back}`, Code.FailedPrecondition);
        }
        const unsigned = {
          checkpoint,
          witnessId: await nextCheckpointId(tx),
          witnessedAt: new Date(),
        };
        const w = { ...unsigned, countersignature: await countersign(keyRing, issuer, chain, unsigned) };
        await insertCheckpoint(tx, chain, w);
        return w;
      });
      logger.info(
        { chain, seq: checkpoint.seq, reason: checkpoint.reason, witness_id: witnessed.witnessId },
        "audit checkpoint witnessed",
      );
      return { witnessed: witnessedToProto(witnessed) };
    },

    async getLatestCheckpoint(_req, ctx) {
      const chain = chainOf(ctx);
      const latest = await latestCheckpoint(db, chain);
      if (!latest) return {};
      // Countersigned as it is given, by the key that signs now: the one stored was made by the key
      // of the day it was witnessed, which `rotate-keys --remove` may since have taken out of the
      // JWKS (and off every verifier, through the revocation feed), and a verify run checks the
      // answer against the keys published now (docs/identity.md, "Audit witness").
      const { countersignature: _stored, ...record } = latest;
      return {
        latest: witnessedToProto({
          ...record,
          countersignature: await countersign(keyRing, issuer, chain, record),
        }),
      };
    },
  });
}
