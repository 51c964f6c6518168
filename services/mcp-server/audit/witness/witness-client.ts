import { Code, ConnectError } from "@connectrpc/connect";
import { AuditWitnessService } from "#gen/supportext/audit/v1/witness_pb.js";
import type { SignedCheckpoint } from "#kit/audit/index.js";
import { checkpointToProto, type Witnessed, witnessedFromProto } from "#kit/audit/index.js";
import { SERVICE_IDS, type ServiceCredentials } from "#kit/auth/index.js";
import { createServiceClient } from "#kit/client/index.js";

/** The identity service's AuditWitnessService, as the MCP server (and its `npm run audit`) call it. */
export interface WitnessClient {
  /** The newest witnessed checkpoint of this chain; undefined when the witness holds none. */
  latest(): Promise<Witnessed | undefined>;
  record(checkpoint: SignedCheckpoint): Promise<Witnessed>;
}

/** The witness could not be asked (down, refused our credential, answered nonsense): said in one line. */
export class WitnessUnavailableError extends Error {
  override readonly name = "WitnessUnavailableError";
}

/** The witness answered and refused the checkpoint (it would move its record back). */
export class CheckpointRefusedError extends Error {
  override readonly name = "CheckpointRefusedError";
}

const describe = (err: unknown) => {
  const ce = ConnectError.from(err);
  return `${Code[ce.code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase()}: ${ce.rawMessage}`;
};

export function createWitnessClient(options: {
  identityUrl: string;
  credentials: ServiceCredentials;
  timeoutMs?: number;
}): WitnessClient {
  const client = createServiceClient(AuditWitnessService, options.identityUrl, {
    credentials: { source: options.credentials, audience: SERVICE_IDS.identity },
    defaultTimeoutMs: options.timeoutMs ?? 5_000,
  });
  const where = `the audit witness at ${options.identityUrl}`;
  const decode = (m: Parameters<typeof witnessedFromProto>[0]) => {
    const w = witnessedFromProto(m);
    if (typeof w === "string") throw new WitnessUnavailableError(`${where} answered a bad checkpoint: ${w}`);
    return w;
  };
  return {
    async latest() {
      const res = await client.getLatestCheckpoint({}).catch((err: unknown) => {
        throw new WitnessUnavailableError(`${where} is unreachable (${describe(err)})`);
      });
      return res.latest ? decode(res.latest) : undefined;
    },
    async record(checkpoint) {
      const res = await client
        .recordCheckpoint({ checkpoint: checkpointToProto(checkpoint) })
        .catch((err: unknown) => {
          const ce = ConnectError.from(err);
          if (ce.code === Code.FailedPrecondition || ce.code === Code.InvalidArgument) {
            throw new CheckpointRefusedError(`${where} refused the checkpoint (${describe(err)})`);
          }
          throw new WitnessUnavailableError(`${where} is unreachable (${describe(err)})`);
        });
      if (!res.witnessed) throw new WitnessUnavailableError(`${where} answered no checkpoint`);
      return decode(res.witnessed);
    },
  };
}
