import type { RunClock } from "../registry/run-context.js";

/**
 * Dates relative to today ("today", "since last week", "this month", "the past 7 days") as the
 * start of a local day in the caller's time zone, written as an RFC 3339 date-time with its
 * offset (RFC 3339 §5.6), the form get_ticket_stats' `since` accepts. "Today" depends on the zone:
 * 00:30 in Berlin is still yesterday in UTC, so the run context's zone decides, never the server's.
 */
export interface DateConstraint {
  /** The words as typed ("since last week"), to name the constraint in the answer. */
  readonly phrase: string;
  /** The start, or undefined when the run context carries no clock (the date is then unknown). */
  readonly since?: string;
  /** Whether the period also ends before now ("yesterday", "last month"): a `since` alone overshoots. */
  readonly ends: boolean;
}

const WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

type Day = { readonly y: number; readonly m: number; readonly d: number };
/** How far back a phrase starts, in local calendar days from today (or to a month's or year's start). */
type Start = (today: Day, weekday: number) => Day;

const addDays = (day: Day, n: number): Day => {
  const t = new Date(Date.UTC(day.y, day.m - 1, day.d + n));
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
};
/** Weeks start on Monday (ISO 8601). */
const weekStart = (today: Day, weekday: number) => addDays(today, -((weekday + 6) % 7));
const UNIT_DAYS: Readonly<Record<string, number>> = { day: 1, week: 7, month: 30, year: 365 };

/** The phrases, most specific first; `ends` marks a period that is over before today. */
const PHRASES: readonly {
  readonly pattern: RegExp;
  readonly start: (m: RegExpExecArray) => Start;
  readonly ends: (m: RegExpExecArray) => boolean;
}[] = [
  {
    // "the past 7 days", "in the last 2 weeks", "past week": rolling, from that many days ago.
    pattern:
      /\b(?:(?:in|over|during|for|from)\s+)?(?:the\s+(?:past|last)|past|last(?=\s+\d))\s+(\d{1,3}|a|one)?\s*(day|week|month|year)s?\b/i,
    start: (m) => (today) => {
      const n = /^\d+$/.test(m[1] ?? "") ? Number(m[1]) : 1;
      return addDays(today, -n * (UNIT_DAYS[(m[2] ?? "day").toLowerCase()] ?? 1));
    },
    ends: () => false,
  },
  {
    pattern: /\b(?:(?:since|from|for|of|on|created|opened)\s+)?today\b|\bthis morning\b/i,
    start: () => (today) => today,
    ends: () => false,
  },
  {
    pattern: /\bsince\s+yesterday\b/i,
    start: () => (today) => addDays(today, -1),
    ends: () => false,
  },
  {
    pattern: /\b(?:(?:from|for|of|on|created|opened)\s+)?yesterday\b/i,
    start: () => (today) => addDays(today, -1),
    ends: () => true,
  },
  {
    pattern: /\b(since|from|for|of|in|during|created|opened)?\s*last\s+(week|month|year)\b/i,
    start: (m) => (today, weekday) => {
      const unit = (m[2] ?? "week").toLowerCase();
      if (unit === "week") return addDays(weekStart(today, weekday), -7);
      if (unit === "month")
        return today.m === 1 ? { y: today.y - 1, m: 12, d: 1 } : { ...today, m: today.m - 1, d: 1 };
      return { y: today.y - 1, m: 1, d: 1 };
    },
    // "last week" is over; "since last week" runs until now.
    ends: (m) => !/^(?:since|from)$/i.test(m[1] ?? ""),
  },
  {
    pattern: /\b(?:(?:since|from|for|of|in|during|created|opened)\s+)?this\s+(week|month|year)\b/i,
    start: (m) => (today, weekday) => {
      const unit = (m[1] ?? "week").toLowerCase();
      if (unit === "week") return weekStart(today, weekday);
      return unit === "month" ? { ...today, d: 1 } : { y: today.y, m: 1, d: 1 };
    },
    ends: () => false,
  },
  {
    // "since monday": the latest Monday before today (on a Monday, the one a week ago).
    pattern: new RegExp(`\\bsince\\s+(?:last\\s+)?(${WEEKDAYS.join("|")})\\b`, "i"),
    start: (m) => (today, weekday) => {
      const target = WEEKDAYS.indexOf((m[1] ?? "").toLowerCase());
      return addDays(today, -((weekday - target + 7) % 7 || 7));
    },
    ends: () => false,
  },
];

/** An ISO date ("since 2025-03-01"): the start of that day, in the caller's zone when it is known. */
const EXPLICIT = /\b(?:since|from|after)\s+(\d{4})-(\d{2})-(\d{2})\b/i;

/** The first date constraint in `text`, resolved against the run's clock when there is one. */
export function dateConstraint(text: string, clock?: RunClock): DateConstraint | undefined {
  const explicit = EXPLICIT.exec(text);
  if (explicit) {
    const day = { y: Number(explicit[1]), m: Number(explicit[2]), d: Number(explicit[3]) };
    // Without a clock the zone is unknown too: UTC, as the tool's own examples are written.
    const since =
      (clock && startOfDay(day, clock.timeZone)) ?? `${explicit[1]}-${explicit[2]}-${explicit[3]}T00:00:00Z`;
    return { phrase: explicit[0], since, ends: false };
  }
  for (const { pattern, start, ends } of PHRASES) {
    const m = pattern.exec(text);
    if (!m) continue;
    const today = clock ? localToday(clock) : undefined;
    const since = today && clock ? startOfDay(start(m)(today.day, today.weekday), clock.timeZone) : undefined;
    return { phrase: m[0].trim(), ...(since ? { since } : {}), ends: ends(m) };
  }
  return undefined;
}

/** `text` without the constraint's words, so they are not read as a topic or a filter. */
export function withoutDate(text: string, constraint: DateConstraint | undefined): string {
  if (!constraint) return text;
  return text
    .replace(constraint.phrase, " ")
    .replace(/\s{2,}/g, " ")
    .trim();
}

function localToday(clock: RunClock): { day: Day; weekday: number } | undefined {
  const now = new Date(clock.now);
  if (Number.isNaN(now.getTime())) return undefined;
  const parts = partsIn(now, clock.timeZone);
  if (!parts) return undefined;
  const day = { y: parts.y, m: parts.m, d: parts.d };
  return { day, weekday: new Date(Date.UTC(day.y, day.m - 1, day.d)).getUTCDay() };
}

/** Local midnight of `day` in `timeZone`, with that moment's UTC offset ("2026-03-19T00:00:00+01:00"). */
function startOfDay(day: Day, timeZone: string): string | undefined {
  const wall = Date.UTC(day.y, day.m - 1, day.d);
  // The offset at local midnight: guess with the offset at UTC midnight, then correct once
  // (a day when the offset changes moves the guess by at most the change).
  let offset = offsetAt(wall, timeZone);
  if (offset === undefined) return undefined;
  offset = offsetAt(wall - offset * 60_000, timeZone) ?? offset;
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  const two = (n: number) => String(n).padStart(2, "0");
  const date = `${day.y}-${two(day.m)}-${two(day.d)}`;
  return `${date}T00:00:00${sign}${two(Math.floor(abs / 60))}:${two(abs % 60)}`;
}

/** Minutes the zone's wall clock is ahead of UTC at `instant`. */
function offsetAt(instant: number, timeZone: string): number | undefined {
  const p = partsIn(new Date(instant), timeZone);
  if (!p) return undefined;
  const wall = Date.UTC(p.y, p.m - 1, p.d, p.h, p.min, p.s);
  return Math.round((wall - Math.floor(instant / 1000) * 1000) / 60_000);
}

/**
 * One formatter per zone, made once: building an `Intl.DateTimeFormat` loads the zone's rules and
 * costs far more than formatting with it. Zone names come from the deployment, so they are few;
 * the cap only guards against a caller that invents them.
 */
const FORMATTERS_MAX = 64;
const formatters = new Map<string, Intl.DateTimeFormat | null>();

function formatterFor(timeZone: string): Intl.DateTimeFormat | undefined {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat("en-US", {
        timeZone,
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
      });
    } catch {
      formatter = null; // not a time zone this runtime knows
    }
    if (formatters.size >= FORMATTERS_MAX) formatters.clear();
    formatters.set(timeZone, formatter);
  }
  return formatter ?? undefined;
}

function partsIn(
  date: Date,
  timeZone: string,
): { y: number; m: number; d: number; h: number; min: number; s: number } | undefined {
  const parts = formatterFor(timeZone)?.formatToParts(date);
  if (!parts) return undefined;
  const n = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { y: n("year"), m: n("month"), d: n("day"), h: n("hour"), min: n("minute"), s: n("second") };
}
