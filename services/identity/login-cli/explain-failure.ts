import { Code, ConnectError } from "@connectrpc/connect";
import { ConfigError } from "#kit/config/index.js";
import { LoginUsageError } from "./login-options.js";

// Socket errors that mean no server is listening or reachable there (Node's `err.code`).
const NOTHING_THERE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * The one line `npm run login` prints for a failure: the cause and what to do about it, never a
 * stack (README, "Send your first message").
 */
export function explainFailure(err: unknown, target: { url: string; email: string }): string {
  if (err instanceof LoginUsageError || err instanceof ConfigError) return `login: ${err.message}`;
  const e = ConnectError.from(err);
  switch (e.code) {
    case Code.Unauthenticated:
      return `login: wrong email or password for ${target.email} — pass --password (or LOGIN_PASSWORD); npm start prints the seeded logins`;
    case Code.ResourceExhausted:
      return `login: ${e.rawMessage} (too many failed logins for ${target.email} or from this address)`;
    case Code.InvalidArgument:
      return `login: ${e.rawMessage} — pass --email and --password`;
    case Code.DeadlineExceeded:
      return `login: ${target.url} did not answer in time — is the stack still starting? (see README, "Troubleshooting")`;
    case Code.Unimplemented:
    case Code.NotFound:
      return `login: ${target.url} answers but is not the identity service — pass --url or set IDENTITY_URL`;
    case Code.Unavailable:
      if (nothingListens(e)) return `login: nothing answers at ${target.url} — start it with npm start`;
      return `login: the identity service at ${target.url} is unavailable (${e.rawMessage}) — see its log`;
    default:
      return `login: ${Code[e.code]}: ${e.rawMessage}`;
  }
}

function nothingListens(e: ConnectError): boolean {
  for (let c: unknown = e.cause; c instanceof Error; c = c.cause) {
    const code = (c as NodeJS.ErrnoException).code;
    if (code && NOTHING_THERE.has(code)) return true;
    // fetch-style and AggregateError (IPv4 + IPv6 attempts) wrap the socket errors.
    if (
      c instanceof AggregateError &&
      c.errors.some((x) => NOTHING_THERE.has((x as NodeJS.ErrnoException).code ?? ""))
    ) {
      return true;
    }
  }
  return false;
}
