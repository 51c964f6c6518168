import { Code, type ConnectError } from "@connectrpc/connect";

/**
 * What the server's refusals mean for the popup (docs/identity.md): an `unauthenticated` whose
 * challenge says `expired` — or a turn that ended with "refresh it and send again" (docs/chat.md) —
 * asks for a refresh and one retry; any other `unauthenticated` (revoked, spent, unknown) means
 * the session is over.
 */
export function asksForRefresh(err: ConnectError): boolean {
  if (err.code !== Code.Unauthenticated) return false;
  const challenge = err.metadata.get("www-authenticate") ?? "";
  return (
    /error_description="expired"/.test(challenge) ||
    err.rawMessage.startsWith("expired:") ||
    /refresh it/.test(err.rawMessage)
  );
}

/** The login session is over: the user has to log in again. */
export class SessionEndedError extends Error {
  override readonly name = "SessionEndedError";
}
