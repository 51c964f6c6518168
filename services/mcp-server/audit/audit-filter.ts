import { parseDurationSeconds } from "#kit/config/index.js";
import { STRICT, textProblem } from "#kit/input/index.js";
import { AUDIT_QUERY_MAX_LIMIT, type AuditOutcome, type AuditQuery } from "../data/audit-log.js";

/** Raw filter values as they come from a query string or command-line flags. */
export interface RawAuditFilter {
  user?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  tool?: string | undefined;
  outcome?: string | undefined;
  trace?: string | undefined;
  limit?: string | undefined;
}

const OUTCOMES: readonly AuditOutcome[] = ["ok", "error", "refused"];

/**
 * One parser for both read paths (`GET /admin/audit` and `npm run audit`). A time is ISO 8601
 * ("2026-01-31T12:00:00Z", "2026-01-31") or an age ("15m", "24h", "7d" = that long ago).
 */
export function parseAuditFilter(
  raw: RawAuditFilter,
  now = new Date(),
): { ok: true; query: AuditQuery } | { ok: false; error: string } {
  const time = (name: string, value: string | undefined): Date | string | undefined => {
    if (value === undefined || value === "") return undefined;
    const age = parseDurationSeconds(value);
    const d = age === undefined ? new Date(value) : new Date(now.getTime() - age * 1000);
    // JavaScript reads "plain 45095" as the year 45095, and an age of 99999999999 days lands before
    // any calendar: PostgreSQL cannot take either as a parameter. Times outside ISO 8601's four-digit
    // years are refused here, as any other unreadable time.
    const year = d.getUTCFullYear();
    return Number.isNaN(d.getTime()) || year < 1 || year > 9999
      ? `${name}: expected an ISO 8601 time or an age like 24h, got "${value}"`
      : d;
  };
  const since = time("since", raw.since);
  const until = time("until", raw.until);
  if (typeof since === "string") return { ok: false, error: since };
  if (typeof until === "string") return { ok: false, error: until };
  if (raw.outcome !== undefined && raw.outcome !== "" && !OUTCOMES.includes(raw.outcome as AuditOutcome)) {
    return { ok: false, error: `outcome: expected one of ${OUTCOMES.join(", ")}, got "${raw.outcome}"` };
  }
  const limit = raw.limit === undefined || raw.limit === "" ? 100 : Number(raw.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > AUDIT_QUERY_MAX_LIMIT) {
    return { ok: false, error: `limit: expected a whole number from 1 to ${AUDIT_QUERY_MAX_LIMIT}` };
  }
  const problem = (["user", "tool", "trace"] as const)
    .map((name) => ({ name, why: raw[name] === undefined ? undefined : textProblem(raw[name], STRICT) }))
    .find((p) => p.why !== undefined);
  // A NUL cannot be a PostgreSQL text parameter; no control character is in a name or an id.
  if (problem) return { ok: false, error: `${problem.name}: ${problem.why}` };
  const text = (v: string | undefined) => (v === undefined || v === "" ? undefined : v.slice(0, 254));
  const user = text(raw.user);
  const tool = text(raw.tool);
  const traceId = text(raw.trace);
  return {
    ok: true,
    query: {
      limit,
      ...(user ? { user } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
      ...(tool ? { tool } : {}),
      ...(raw.outcome ? { outcome: raw.outcome as AuditOutcome } : {}),
      ...(traceId ? { traceId } : {}),
    },
  };
}
