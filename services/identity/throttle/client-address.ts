/**
 * The caller's network address for per-address login throttling.
 *
 * Behind reverse proxies (the extension reaches chat over TLS, usually through one) the socket
 * peer is the proxy, so the address is the X-Forwarded-For entry appended by the outermost trusted
 * proxy: with N trusted hops, the N-th entry from the right. Entries further left were written by
 * the client and can be forged, so they are never used.
 *
 * With no trusted proxy (TRUSTED_PROXY_HOPS=0) the address is the socket peer, and any
 * X-Forwarded-For header (written by the client) is ignored.
 */
export function clientAddressFrom(
  forwardedFor: string | null | undefined,
  trustedProxyHops: number,
  peerAddress?: string,
): string | undefined {
  if (trustedProxyHops <= 0) return peerAddress?.toLowerCase();
  if (!forwardedFor) return undefined;
  const hops = forwardedFor
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const entry = hops[hops.length - trustedProxyHops];
  if (!entry || entry.length > 64 || !/^[0-9A-Fa-f:.[\]]+$/.test(entry)) return undefined;
  return entry.toLowerCase();
}
