// The module's public face: what the rest of the product uses of it (docs/architecture.md, "The kit").

export {
  type CheckpointBody,
  type CheckpointReason,
  COUNTERSIGNATURE_TYP,
  checkpointSignatureProblem,
  checkpointText,
  countersignedClaims,
  type SignedCheckpoint,
} from "./checkpoint.js";
export {
  checkpointFromProto,
  checkpointToProto,
  type Witnessed,
  witnessedFromProto,
  witnessedToProto,
} from "./checkpoint-proto.js";
