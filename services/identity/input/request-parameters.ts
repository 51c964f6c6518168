import { STRICT, textProblem } from "#kit/input/index.js";

/**
 * Parses `application/x-www-form-urlencoded` text — a request body or a URL's query — strictly,
 * for every identity endpoint that reads parameters (docs/identity.md, "Malformed input"): a `%`
 * not followed by two hex digits, percent-encoded bytes that are not UTF-8, or a control
 * character anywhere (raw or decoded, in a name or a value) refuses the whole request through
 * `refuse`, before any parameter reaches a store. OAuth parameters never contain controls (RFC
 * 6749 Appendix A restricts every value to printable characters).
 * Repeated names are kept in order: the caller decides (RFC 6749 §3.1 refuses them).
 */
export function parseParameters(encoded: string, refuse: (description: string) => Error): URLSearchParams {
  const raw = textProblem(encoded, STRICT);
  if (raw) throw refuse(`a parameter ${raw}`);
  const params = new URLSearchParams();
  for (const pair of encoded.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = decodeComponent(eq < 0 ? pair : pair.slice(0, eq), refuse);
    const value = decodeComponent(eq < 0 ? "" : pair.slice(eq + 1), refuse);
    const problem = textProblem(name, STRICT) ?? textProblem(value, STRICT);
    if (problem) throw refuse(`a parameter ${problem}`);
    params.append(name, value);
  }
  return params;
}

/** The query of a request target (`/path?query`), parsed as above. */
export function parseQuery(
  target: string | undefined,
  refuse: (description: string) => Error,
): URLSearchParams {
  const at = (target ?? "").indexOf("?");
  return parseParameters(at < 0 ? "" : (target ?? "").slice(at + 1), refuse);
}

const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;

/** One form-urlencoded component: `+` is a space, `%XX` a byte of UTF-8 (WHATWG URL §5.1). */
export function decodeComponent(component: string, refuse: (description: string) => Error): string {
  if (BAD_PERCENT.test(component)) throw refuse("malformed percent-encoding in the parameters");
  try {
    return decodeURIComponent(component.replace(/\+/g, " "));
  } catch {
    throw refuse("percent-encoded parameters that are not UTF-8");
  }
}
