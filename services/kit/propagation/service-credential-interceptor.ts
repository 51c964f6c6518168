import { ConnectError, type Interceptor } from "@connectrpc/connect";
import { SERVICE_AUTHORIZATION_HEADER, type ServiceCredentials } from "../auth/service-identity.js";
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
    const token = await withinCall(credentials.tokenFor(audience, agent), req.signal);
    req.header.set(SERVICE_AUTHORIZATION_HEADER, `Bearer ${token}`);
    return next(req);
  };
}

/**
 * The credential's fetch is shared by every caller and bounded by its own timeout; a call whose
 * deadline passes (or which is cancelled) while it waits stops waiting then, with its own reason,
 * and leaves the fetch to the others.
 */
function withinCall<T>(pending: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(ConnectError.from(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(ConnectError.from(signal.reason));
    signal.addEventListener("abort", stop, { once: true });
    pending.then(
      (value) => {
        signal.removeEventListener("abort", stop);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", stop);
        reject(err);
      },
    );
  });
}
