import { Code, ConnectError } from "@connectrpc/connect";
import type { AuthError } from "../auth/auth-error.js";
import { isOutage } from "../auth/bearer-auth.js";
import { currentTelemetry } from "./call-scope.js";

/** Counts a refused credential by its reason (docs/architecture.md, "Telemetry"). */
export function countRefusal(credential: "user" | "service", reason: string): void {
  currentTelemetry()?.authRefusals.inc({ credential, reason });
}

/** An authentication failure as the caller sees it: the reason first, a challenge, no token. */
export function authRefusal(err: AuthError): ConnectError {
  const code = isOutage(err.reason) ? Code.Unavailable : Code.Unauthenticated;
  const challenge =
    err.reason === "missing_token"
      ? "Bearer"
      : `Bearer error="invalid_token", error_description="${err.reason}"`;
  return new ConnectError(err.message, code, { "www-authenticate": challenge });
}
