/**
 * DATABASE_URL usually carries a password; it must never reach a log line or an error message.
 * These helpers produce a printable form of the URL and scrub the secret out of third-party messages.
 */

/** Parsed connection URL plus what is safe to print. */
export interface ParsedDatabaseUrl {
  /** e.g. `postgres://app:***@db:5432/support` */
  readonly redacted: string;
  /** Strings that must not appear in any message (raw and percent-decoded password). */
  readonly secrets: readonly string[];
}

/**
 * Validates and redacts a PostgreSQL URL. Throws a message without the URL, because `new URL`'s own
 * error carries the whole input (password included) in its `input` property.
 */
export function parseDatabaseUrl(url: string): ParsedDatabaseUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error("DATABASE_URL is not a valid URL (expected postgres://user:password@host:port/db)");
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    // Not echoing the scheme either: in a mangled URL it may well be part of the secret.
    throw new Error("DATABASE_URL must start with postgres:// or postgresql://");
  }
  const secrets: string[] = [];
  if (parsed.password !== "") {
    secrets.push(parsed.password);
    const decoded = safeDecode(parsed.password);
    if (decoded !== parsed.password) secrets.push(decoded);
    parsed.password = "***";
  }
  // Query strings may hold a password too (?password=…); drop them from the printable form.
  parsed.search = "";
  return { redacted: parsed.toString(), secrets };
}

/** Replaces every occurrence of each secret with `***`. */
export function removeKnownSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join("***");
  }
  return out;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
