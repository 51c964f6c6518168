import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Paging for every List RPC (AIP-158 style): `page_size` bounded, `page_token` opaque to callers.
 * Inside, a token is base64url JSON tagged with the list it belongs to, so a token from one list
 * (or one the service never issued) is refused with `invalid_argument` instead of silently
 * restarting or skipping. Tokens carry positions (offsets or keyset cursors), never authority:
 * every query still filters by the caller.
 */
export interface PageSizeLimits {
  /** Used when the request says 0. */
  readonly defaultSize: number;
  readonly maxSize: number;
}

/** The effective page size: 0 → default, above max → max, negative → invalid_argument. */
export function pageSizeOf(requested: number, limits: PageSizeLimits): number {
  if (!Number.isInteger(requested) || requested < 0) {
    throw new ConnectError("page_size: must be zero or positive", Code.InvalidArgument);
  }
  if (requested === 0) return limits.defaultSize;
  return Math.min(requested, limits.maxSize);
}

export function encodePageToken<T>(list: string, position: T): string {
  return Buffer.from(JSON.stringify({ l: list, p: position })).toString("base64url");
}

/**
 * The position inside `token`, checked by `isPosition`; undefined for the first page (empty token).
 */
export function decodePageToken<T>(
  list: string,
  token: string,
  isPosition: (p: unknown) => p is T,
): T | undefined {
  if (token === "") return undefined;
  const invalid = () => new ConnectError("page_token: not a token this list issued", Code.InvalidArgument);
  if (token.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(token)) throw invalid();
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  const body = decoded as { l?: unknown; p?: unknown } | null;
  if (typeof body !== "object" || body === null || body.l !== list || !isPosition(body.p)) throw invalid();
  return body.p;
}

/** A non-negative integer offset, the position of offset-paged lists. */
export function isOffset(p: unknown): p is number {
  return typeof p === "number" && Number.isInteger(p) && p >= 0 && p <= 1_000_000;
}
