import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
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
    const refused = (err: unknown) => {
      if (signedByAKeyGone(err)) credentials.forget(audience, agent, token);
    };
    try {
      const res = await next(req);
      if (!res.stream) return res;
      return { ...res, message: watching(res.message, refused) };
    } catch (err) {
      refused(err);
      throw err;
    }
  };
}

/**
 * Whether the callee refused our credential because it does not know, or no longer trusts, the key
 * that signed it: a key the issuer removed while this process was not hearing the revocation feed
 * (docs/architecture.md, "Revocation") — even the feed's own Watch call is refused then, so the
 * token must be replaced here or it would be sent until it is renewed.
 */
function signedByAKeyGone(err: unknown): boolean {
  return (
    err instanceof ConnectError &&
    err.code === Code.Unauthenticated &&
    /^service credential: (unknown_key|key_removed):/.test(err.rawMessage)
  );
}

async function* watching<T>(messages: AsyncIterable<T>, onError: (err: unknown) => void): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (err) {
    onError(err);
    throw err;
  }
}
