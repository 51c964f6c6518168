import { Code, ConnectError } from "@connectrpc/connect";
import { AuthError } from "../auth/auth-error.js";
import { parseBearer } from "../auth/bearer.js";
import { SERVICE_AUTHORIZATION_HEADER, type ServiceCaller } from "../auth/service-identity.js";
import type { ServiceTokenVerifier } from "../auth/token-verifier.js";
import { authRefusal, countRefusal } from "./auth-refusal.js";
import { type CallerRule, notAllowed } from "./caller-policy.js";

/**
 * The calling service, checked against the procedure's rule: its credential verified when
 * present (a present bad credential is always refused), required unless users may call directly.
 */
export async function authenticateCaller(
  header: string | null,
  rule: CallerRule,
  procedure: string,
  verifier: ServiceTokenVerifier | undefined,
): Promise<ServiceCaller | undefined> {
  if (rule.services.length === 0) {
    if (rule.directUsers) return undefined;
    countRefusal("service", "service_not_allowed");
    throw notAllowed(procedure, rule, "anyone");
  }
  if (header === null) {
    if (rule.directUsers) return undefined;
    countRefusal("service", "missing_service_credential");
    // Known user, wrong door: the procedure serves services only.
    throw new ConnectError(
      `${procedure} serves the ${rule.services.join(", ")} service${rule.services.length > 1 ? "s" : ""} only: no service credential (${SERVICE_AUTHORIZATION_HEADER}) was presented`,
      Code.PermissionDenied,
    );
  }
  const caller = await verifyServiceCredential(header, verifier);
  if (!rule.services.includes(caller.clientId)) {
    countRefusal("service", "service_not_allowed");
    throw notAllowed(procedure, rule, `service ${caller.clientId}`);
  }
  if (rule.agentRequired && caller.agent === undefined) {
    countRefusal("service", "agent_not_proven");
    throw new ConnectError(
      `${procedure} needs the calling service to prove the agent it runs`,
      Code.PermissionDenied,
    );
  }
  return caller;
}

/** The `x-service-authorization` header's bearer token, verified; refused as a service credential. */
async function verifyServiceCredential(
  header: string,
  verifier: ServiceTokenVerifier | undefined,
): Promise<ServiceCaller> {
  try {
    const token = parseBearer(header);
    if (!token || !verifier) throw new AuthError("missing_token");
    return await verifier.verify(token);
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    countRefusal("service", err.reason);
    const ce = authRefusal(err);
    throw new ConnectError(`service credential: ${ce.rawMessage}`, ce.code, ce.metadata);
  }
}
