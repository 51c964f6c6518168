import { Code, ConnectError } from "@connectrpc/connect";
import { SessionEndedError } from "./refusals.js";

/** The server could not be reached at all (down, wrong address) or refused this origin (CORS). */
export class UnreachableError extends Error {
  override readonly name = "UnreachableError";
}

export function isNetworkFailure(err: unknown): boolean {
  const ce = ConnectError.from(err);
  return ce.cause instanceof TypeError || (ce.code === Code.Unknown && /fetch|network/i.test(ce.rawMessage));
}

/**
 * Tells a server that is down from one that answers but refuses this origin: a `no-cors` request
 * reaches a running server whatever its CORS policy, and fails only when nothing answers.
 */
export async function explainUnreachable(serverUrl: string): Promise<UnreachableError> {
  const origin = globalThis.location?.origin ?? "this page";
  try {
    await fetch(new URL("/.well-known/oauth-protected-resource", serverUrl), {
      mode: "no-cors",
      cache: "no-store",
    });
    return new UnreachableError(
      `The support service at ${serverUrl} refused this origin (${origin}). Add it to the server's CORS_ORIGINS and restart it.`,
    );
  } catch {
    return new UnreachableError(
      `Can't reach the support service at ${serverUrl}: it looks down. Start it (npm start) or check the server address.`,
    );
  }
}

/** One sentence for the status line, never empty. */
export function describeProblem(err: unknown): string {
  if (err instanceof SessionEndedError || err instanceof UnreachableError) return err.message;
  const ce = ConnectError.from(err);
  switch (ce.code) {
    case Code.Unavailable:
      return `The support service is unavailable right now (${ce.rawMessage}). Try again in a moment.`;
    case Code.DeadlineExceeded:
      return "The support service took too long to answer. Try again.";
    case Code.ResourceExhausted:
      return ce.rawMessage;
    case Code.PermissionDenied:
      return `Not allowed: ${ce.rawMessage}`;
    case Code.Unauthenticated:
      return `Not logged in: ${ce.rawMessage}`;
    default:
      return ce.rawMessage || "Something went wrong; try again.";
  }
}
