import type { IncomingMessage, ServerResponse } from "node:http";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { AuditService } from "../../../gen/supportext/audit/v1/audit_pb.js";
import type { BearerAuthOptions } from "../../kit/auth/index.js";
import type { Database } from "../../kit/db/index.js";
import { createCleanRpcInput } from "../../kit/input/index.js";
import type { Logger } from "../../kit/log/index.js";
import { createAuthInterceptor, createCallContextInterceptor } from "../../kit/propagation/index.js";
import { malformedMessageIsInvalidArgument, malformedStreamMessages } from "../../kit/server/index.js";
import { type AuditWitnessAccess, createAuditService } from "../audit/audit-service.js";

/** Every path of the audit RPC service starts with this. */
export const AUDIT_RPC_PREFIX = `/${AuditService.typeName}/`;

/**
 * `supportext.audit.v1.AuditService` on the MCP server's own port (Connect protocol over HTTP/1.1,
 * JSON or binary), with the kit's server interceptors — so trace joining, request ids, the call
 * log line, bearer verification, the input-text rule and the answer to a malformed message are
 * those of every other Connect service (docs/architecture.md, "Input text"). `auth.verifier` is the
 * API-audience verifier: the token an administrator's login returns, not an MCP token.
 */
export function createAuditRpcHandler(deps: {
  db: Database;
  /** The audit witness VerifyAuditChain compares the chain with (docs/mcp-server.md). */
  witness: AuditWitnessAccess;
  logger: Logger;
  auth: BearerAuthOptions;
}): (req: IncomingMessage, res: ServerResponse) => void {
  return connectNodeAdapter({
    routes: (router) => {
      router.service(AuditService, createAuditService(deps));
      router.handlers.forEach((handler, i) => {
        router.handlers[i] = malformedMessageIsInvalidArgument(handler);
      });
    },
    interceptors: [
      malformedStreamMessages,
      createCallContextInterceptor(deps.logger),
      createAuthInterceptor({ ...deps.auth, logger: deps.logger }),
      createCleanRpcInput(),
    ],
    // Requests are a filter; responses at most 1000 rows of ≤ 4 KiB arguments each.
    readMaxBytes: 64 * 1024,
    writeMaxBytes: 16 * 1024 * 1024,
    fallback(_req, res) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"error":"not_found"}');
    },
  });
}
