import type { ServerResponse } from "node:http";
import { invalidTokenChallenge, isOutage, missingTokenChallenge } from "#kit/auth/index.js";
import type { Authentication } from "../auth/authenticate.js";
import { sendJson } from "./responses.js";

/**
 * The answer to a request whose bearer token was refused, on `/mcp` and `/admin/audit` alike: 401
 * with an RFC 6750 challenge naming the RFC 9728 metadata, or 503 when the issuer's keys are
 * unreachable — an outage, not a bad token, so no `invalid_token` challenge sends a client off to
 * get a new one for nothing.
 */
export function sendAuthRefusal(
  res: ServerResponse,
  auth: Extract<Authentication, { ok: false }>,
  resourceMetadataUrl: string,
): void {
  const missing = auth.reason === "missing_token";
  const unavailable = isOutage(auth.reason);
  sendJson(
    res,
    unavailable ? 503 : 401,
    {
      error: missing ? "unauthorized" : unavailable ? "temporarily_unavailable" : "invalid_token",
      error_description: auth.description,
      reason: auth.reason,
    },
    unavailable
      ? { "retry-after": "5" }
      : {
          "www-authenticate": missing
            ? missingTokenChallenge(resourceMetadataUrl)
            : invalidTokenChallenge(auth.description, resourceMetadataUrl),
        },
  );
}
