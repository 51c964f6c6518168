import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { SERVICE_AUTHORIZATION_HEADER, type ServiceCredentials } from "../auth/service-identity.js";
import { untilAborted } from "../retry/until-aborted.js";
import { currentCallScope } from "./call-scope.js";
import { kActingAgent } from "./context-keys.js";

/**
 * Client interceptor: every outgoing call carries this service's own credential for the target
 * service (`x-service-authorization`), next to the user's token the propagation interceptor
 * forwards. When the current call acts as an agent (`kActingAgent`, set by the agent service's
 * Run handler), the credential names that agent: that is how the agent is proven downstream.
 */
export function createServiceCredentialInterceptor(
  credentials: ServiceCredentials,
  audience: string,
): Interceptor {
  return (next) => async (req) => {
    const agent = req.contextValues.get(kActingAgent) ?? currentCallScope()?.actingAgent;
    // The credential's fetch is shared by every caller and bounded by its own timeout; this call
    // stops waiting at its own deadline (or cancellation) and leaves the fetch to the others.
    const token = await untilAborted(credentials.tokenFor(audience, agent), req.signal).catch(
      (err: unknown) => {
        throw ConnectError.from(err);
      },
    );
    req.header.set(SERVICE_AUTHORIZATION_HEADER, `Bearer ${token}`);
    return next(req);
  };
}
