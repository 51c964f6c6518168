import { CONTROLS, UNICODE } from "#kit/testing/fuzz/hostile-text.js";
import type { Random } from "#kit/testing/fuzz/seeded-random.js";

/**
 * Hostile text for parameters, header values and JSON strings: control characters, NUL, invalid
 * UTF-8, broken percent-encoding, huge values, odd Unicode, and plausible values (so that some
 * requests get past the first checks and reach the deeper ones).
 */
export const BROKEN_PERCENT = [
  "%",
  "%0",
  "%G1",
  "%zz",
  "%E0%A4",
  "%C0%80",
  "%ED%A0%80",
  "%FF",
  "%F4%90%80%80",
  "%%00",
];
const PLAUSIBLE = [
  "authorization_code",
  "refresh_token",
  "client_credentials",
  "urn:ietf:params:oauth:grant-type:token-exchange",
  "urn:ietf:params:oauth:token-type:access_token",
  "code",
  "S256",
  "plain",
  "mcp_AAAAAAAAAAAAAAAAAAAAAA",
  "mcp-gateway",
  "agent",
  "chat",
  "sxc_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
  "sxo_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
  "sxr_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
  "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
  "tickets:read tickets:write",
  "http://mcp.test/mcp",
  "http://127.0.0.1:4711/callback",
  "https://app.example/cb",
  "admin@company.com",
  "viewer@company.com",
  "ticket-reader",
  "allow",
  "deny",
  "",
  " ",
];

export function hostileText(r: Random): string {
  switch (r.int(9)) {
    case 0:
      return `${r.pick(PLAUSIBLE)}${r.pick(CONTROLS)}${r.pick(PLAUSIBLE)}`;
    case 1:
      return r.bytes(1 + r.int(40)).toString("latin1");
    case 2:
      return "x".repeat(r.pick([300, 2_001, 9_000, 40_000]));
    case 3:
      return `${r.pick(PLAUSIBLE)}${r.pick(UNICODE)}`;
    case 4:
      return `https://docs.example/${r.int(1e9)}.json`;
    case 5:
      return `http://127.0.0.1:1/${r.int(1e9)}/client.json`;
    case 6:
      return r.pick(CONTROLS).repeat(1 + r.int(3));
    default:
      return r.pick(PLAUSIBLE);
  }
}

/** A form component: usually percent-encoded text, sometimes raw bytes or broken encodings. */
export function formComponent(r: Random): string {
  switch (r.int(6)) {
    case 0:
      return r.pick(BROKEN_PERCENT);
    case 1:
      return [...r.bytes(1 + r.int(12))].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");
    case 2:
      return hostileText(r);
    default:
      return encodeURIComponent(hostileText(r));
  }
}

/** A header value: printable and obs-text bytes mostly (what an HTTP parser passes), sometimes a control. */
export function headerValue(r: Random): Buffer {
  if (r.chance(0.1)) return Buffer.from(`x${r.pick(["\u0000", "\u0001", "\u007f", "\r"])}y`, "latin1");
  if (r.chance(0.3))
    return Buffer.from(
      Array.from({ length: 1 + r.int(60) }, () => 0x20 + r.int(0xe0)).filter((b) => b !== 0x7f),
    );
  return Buffer.from(
    hostileText(r)
      .replace(/\p{Cc}/gu, "")
      .slice(0, 4_000),
    "utf8",
  );
}

/** Plausible text without controls or ill-formed Unicode: what passes the parsers' rule. */
export function cleanText(r: Random): string {
  return hostileText(r)
    .slice(0, 3_000)
    .replace(/[\p{Cc}\p{Cs}]/gu, "");
}
