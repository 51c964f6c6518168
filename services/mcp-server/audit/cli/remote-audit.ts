import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuditService } from "#gen/supportext/audit/v1/audit_pb.js";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import type { AuditOutcome, AuditRecord } from "../../data/audit-log.js";
import type { RawAuditFilter } from "../audit-filter.js";
import { auditEntryFromProto, chainReportFromProto, outcomeToProto } from "../audit-proto.js";
import type { ChainReport } from "../verify-chain.js";

/** Reads the trail from the running MCP server, as the administrator whose login this is. */
export interface RemoteAudit {
  list(filter: RawAuditFilter): Promise<AuditRecord[]>;
  verify(knownHead: string | undefined): Promise<ChainReport>;
  /** Ends the login session this command opened (best effort). */
  close(): Promise<void>;
}

// Connect over HTTP/1.1: what both servers speak on their one port, and no h2c session to tear down.
const transport = (baseUrl: string): Transport =>
  createConnectTransport({ baseUrl, httpVersion: "1.1", defaultTimeoutMs: 120_000 });

/**
 * Logs in at the identity provider (`supportext.auth.v1.AuthService/Login` at IDENTITY_URL) and calls
 * `supportext.audit.v1.AuditService` on the MCP server with the access token it returns. The token
 * lives in this process only and is never printed.
 */
export async function connectRemoteAudit(options: {
  identityUrl: string;
  mcpUrl: string;
  email: string;
  password: string;
}): Promise<RemoteAudit> {
  const auth = createClient(AuthService, transport(options.identityUrl));
  let accessToken: string;
  let refreshToken: string;
  try {
    const res = await auth.login({ email: options.email, password: options.password });
    accessToken = res.tokens?.accessToken ?? "";
    refreshToken = res.tokens?.refreshToken ?? "";
  } catch (err) {
    throw new Error(`login at ${options.identityUrl} failed: ${describe(err)}`);
  }
  const audit = createClient(AuditService, transport(options.mcpUrl));
  const headers = { authorization: `Bearer ${accessToken}` };
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw new Error(`${what} at ${options.mcpUrl} failed: ${describe(err)}`);
    }
  };
  return {
    async list(f) {
      const res = await call("ListAuditEntries", () =>
        audit.listAuditEntries(
          {
            user: f.user ?? "",
            since: f.since ?? "",
            until: f.until ?? "",
            tool: f.tool ?? "",
            outcome: f.outcome ? outcomeToProto(f.outcome as AuditOutcome) : 0,
            traceId: f.trace ?? "",
            limit: f.limit ? Number(f.limit) : 0,
          },
          { headers },
        ),
      );
      return res.entries.map(auditEntryFromProto);
    },
    async verify(knownHead) {
      const res = await call("VerifyAuditChain", () =>
        audit.verifyAuditChain({ knownHead: knownHead ?? "" }, { headers }),
      );
      return chainReportFromProto(res, knownHead);
    },
    async close() {
      // A one-off command should not leave a login session behind for its refresh token's lifetime.
      await auth.logout({ refreshToken }, { headers }).catch(() => undefined);
    },
  };
}

function describe(err: unknown): string {
  const ce = ConnectError.from(err);
  return `${Code[ce.code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase()}: ${ce.rawMessage}`;
}
