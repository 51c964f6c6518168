import type { Queryable } from "#kit/db/index.js";
import { type ChainProblem, type ChainReport, MAX_LISTED, verifyAuditChain } from "../verify-chain.js";
import { type WitnessKeys, witnessedCheckpointProblem } from "./countersignature-check.js";
import { type WitnessClient, WitnessUnavailableError } from "./witness-client.js";
import { compareWithWitness } from "./witness-comparison.js";

/**
 * `npm run audit -- --verify` and `VerifyAuditChain`: the chain walked against itself
 * (`verifyAuditChain`), then against the newest checkpoint the identity service witnessed — what
 * a consistent rewrite of the table cannot fake. Reads only. When the witness cannot be asked the
 * report says so (`witness.state = "unreachable"`) instead of passing for a full check.
 */
export async function verifyWithWitness(
  q: Queryable,
  options: { witness: WitnessClient; keys: WitnessKeys; knownHead?: string },
): Promise<ChainReport> {
  const report = await verifyAuditChain(q, options.knownHead ? { knownHead: options.knownHead } : {});
  let latest: Awaited<ReturnType<WitnessClient["latest"]>>;
  try {
    latest = await options.witness.latest();
  } catch (err) {
    if (!(err instanceof WitnessUnavailableError)) throw err;
    return { ...report, witness: { state: "unreachable", detail: err.message } };
  }
  const found: ChainProblem[] = [];
  if (latest) {
    const bad = await witnessedCheckpointProblem(latest, options.keys);
    if (bad !== undefined) found.push({ kind: "bad_checkpoint", seq: latest.checkpoint.seq, detail: bad });
  }
  const compared = await compareWithWitness(q, latest);
  found.push(...compared.problems);
  const unwitnessed = compared.unwitnessed ? { unwitnessed: compared.unwitnessed } : {};
  return {
    ...report,
    problems: [...report.problems, ...found].slice(0, MAX_LISTED),
    problemCount: report.problemCount + found.length,
    witness: latest
      ? {
          state: "checked",
          seq: latest.checkpoint.seq,
          hash: latest.checkpoint.hash,
          at: latest.checkpoint.at,
          reason: latest.checkpoint.reason,
          witnessId: latest.witnessId,
          ...unwitnessed,
        }
      : { state: "none", ...unwitnessed },
  };
}
