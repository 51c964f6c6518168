import { createPublicKey, verify } from "node:crypto";

/**
 * A signed checkpoint of the MCP server's audit chain (docs/mcp-server.md, "Witnessed checkpoints"):
 * the head (seq and hash of the last row) at a moment, signed by the MCP server with an Ed25519 key
 * kept outside the audit database, and kept by the identity service as a witness. One definition
 * here because two services read it: the MCP server signs and checks, the identity service checks
 * before it countersigns.
 */
export interface CheckpointBody {
  readonly seq: number;
  /** Hex SHA-256 `row_hash` of row `seq`; 64 zeros for an empty chain. */
  readonly hash: string;
  readonly at: Date;
  readonly reason: CheckpointReason;
}

export type CheckpointReason = "rows" | "interval" | "start" | "shutdown";

export interface SignedCheckpoint extends CheckpointBody {
  /** Ed25519 public key, SubjectPublicKeyInfo DER, base64url. */
  readonly signerKey: string;
  /** Ed25519 signature of `checkpointText(body)`, base64url. */
  readonly signature: string;
}

/** `typ` of the witness's countersignature: explicit typing (RFC 8725 §3.11), so it can never pass for an access token (`at+jwt`). */
export const COUNTERSIGNATURE_TYP = "audit-checkpoint+jws";

/** What a witnessed checkpoint carries besides the checkpoint (kit/audit/checkpoint-proto.ts `Witnessed`). */
export interface WitnessEntry {
  readonly witnessId: number;
  readonly witnessedAt: Date;
  readonly checkpoint: SignedCheckpoint;
}

/**
 * The claims of the witness's countersignature, one definition for the identity service that signs
 * them and the MCP server that checks them: the issuer, the witness entry and everything the MCP
 * server signed, so a countersignature is for exactly one checkpoint.
 */
export function countersignedClaims(issuer: string, w: WitnessEntry): Record<string, string | number> {
  const c = w.checkpoint;
  return {
    iss: issuer,
    witness_id: w.witnessId,
    witnessed_at: w.witnessedAt.toISOString(),
    seq: c.seq,
    hash: c.hash,
    at: c.at.toISOString(),
    reason: c.reason,
    signer_key: c.signerKey,
    signature: c.signature,
  };
}

const HASH = /^[0-9a-f]{64}$/;

/**
 * The exact text that is signed: a fixed label (a signature made for anything else cannot be
 * replayed as a checkpoint), then one field per line. The time is the ISO form of a millisecond
 * `Date`, what both sides hold after protobuf's Timestamp round trip.
 */
export function checkpointText(body: CheckpointBody): Buffer {
  return Buffer.from(
    `supportext audit checkpoint v1\nseq ${body.seq}\nhash ${body.hash}\nat ${body.at.toISOString()}\nreason ${body.reason}\n`,
    "utf8",
  );
}

/** Why `cp` is not a well-formed checkpoint signed by the key it names, or undefined when it is. */
export function checkpointSignatureProblem(cp: SignedCheckpoint): string | undefined {
  if (!Number.isSafeInteger(cp.seq) || cp.seq < 0) return "seq must be a whole number ≥ 0";
  if (!HASH.test(cp.hash)) return "hash must be 64 lower-case hex digits";
  if (Number.isNaN(cp.at.getTime())) return "at is not a valid time";
  let key: ReturnType<typeof createPublicKey>;
  try {
    key = createPublicKey({ key: Buffer.from(cp.signerKey, "base64url"), format: "der", type: "spki" });
  } catch {
    return "signer_key is not a public key (SubjectPublicKeyInfo DER, base64url)";
  }
  if (key.asymmetricKeyType !== "ed25519") return "signer_key must be an Ed25519 key";
  const ok = verify(null, checkpointText(cp), key, Buffer.from(cp.signature, "base64url"));
  return ok ? undefined : "the signature does not verify with signer_key";
}
