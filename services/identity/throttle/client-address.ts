import { isIPv4, isIPv6 } from "node:net";

/**
 * The caller's network for per-address throttling (logins, client authentication, registration).
 *
 * Behind reverse proxies (the extension reaches chat over TLS, usually through one) the socket
 * peer is the proxy, so the address is the X-Forwarded-For entry appended by the outermost trusted
 * proxy: with N trusted hops, the N-th entry from the right. Entries further left were written by
 * the client and can be forged, so they are never used.
 *
 * With no trusted proxy (TRUSTED_PROXY_HOPS=0) the address is the socket peer, and any
 * X-Forwarded-For header (written by the client) is ignored.
 *
 * An IPv4 address is its own network. An IPv6 address counts as its /64: one subscriber or host is
 * routed a /64 (RFC 6177 recommends more), so each of its 2^64 addresses being its own bucket would
 * give anyone holding one as many tries as they care to use. An IPv4 address written in IPv6
 * (`::ffff:198.51.100.7`, how a dual-stack socket reports an IPv4 peer) is that IPv4 address.
 */
export function clientAddressFrom(
  forwardedFor: string | null | undefined,
  trustedProxyHops: number,
  peerAddress?: string,
): string | undefined {
  if (trustedProxyHops <= 0) return peerAddress === undefined ? undefined : networkOf(peerAddress);
  if (!forwardedFor) return undefined;
  const hops = forwardedFor
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const entry = hops[hops.length - trustedProxyHops];
  if (!entry || entry.length > 64) return undefined;
  return networkOf(entry);
}

/**
 * The throttling network of an address (above), with a port some proxies append (`1.2.3.4:5678`,
 * `[2001:db8::1]:443`) left out; undefined when it is not an IP address.
 */
function networkOf(raw: string): string | undefined {
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(raw)?.[1];
  const address = bracketed ?? /^(\d{1,3}(?:\.\d{1,3}){3})(?::\d{1,5})?$/.exec(raw)?.[1] ?? raw;
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return undefined;
  const groups = ipv6Groups(address.toLowerCase());
  // ::ffff:a.b.c.d however written (`::ffff:c633:6407`, `0:0:0:0:0:ffff:…`): that IPv4 address.
  if (groups.slice(0, 5).every((g) => g === "0") && groups[5] === "ffff") {
    const [high = 0, low = 0] = groups.slice(6).map((g) => Number.parseInt(g, 16));
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".");
  }
  return `${groups.slice(0, 4).join(":")}::/64`;
}

/** The eight groups of a valid IPv6 address, each without leading zeros (a trailing IPv4 part as two). */
function ipv6Groups(address: string): string[] {
  const withoutZone = address.split("%")[0] as string;
  const [head = "", tail] = withoutZone.split("::");
  const part = (s: string) => (s === "" ? [] : s.split(":").flatMap(fromIPv4Tail));
  const left = part(head);
  const right = tail === undefined ? [] : part(tail);
  const zeros = Array.from({ length: 8 - left.length - right.length }, () => "0");
  return [...left, ...zeros, ...right].map((g) => Number.parseInt(g, 16).toString(16));
}

function fromIPv4Tail(group: string): string[] {
  if (!group.includes(".")) return [group];
  const [a = 0, b = 0, c = 0, d = 0] = group.split(".").map(Number);
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}
