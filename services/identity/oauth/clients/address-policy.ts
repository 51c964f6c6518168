import { isIP, isIPv4 } from "node:net";

/**
 * Which network addresses a Client ID Metadata Document may be fetched from (docs/identity.md,
 * "Client ID Metadata Documents"): only globally reachable unicast addresses, so that a client id
 * can't make this server reach its own host or network. Refused: unspecified, loopback, RFC 1918
 * private, CGNAT (RFC 6598), link-local, documentation and benchmarking ranges, multicast,
 * reserved and broadcast; in IPv6 everything outside global unicast 2000::/3 (unique-local
 * fc00::/7, link-local fe80::/10, multicast ff00::/8, …) and the special blocks inside it
 * (RFC 6890 registry: 2001::/23, 2001:db8::/32, 6to4 2002::/16, 3fff::/20). IPv4-mapped
 * (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) addresses are judged by the IPv4 address they carry.
 */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !inAny(v4Bytes(address), V4_NOT_PUBLIC);
  if (family !== 6) return false;
  const bytes = v6Bytes(address);
  if (!bytes) return false;
  const carried = carriedIPv4(bytes);
  if (carried) return !inAny(carried, V4_NOT_PUBLIC);
  return inRange(bytes, GLOBAL_UNICAST) && !inAny(bytes, V6_SPECIAL);
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped form: what the development switch admits. */
export function isLoopbackAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return inRange(v4Bytes(address), LOOPBACK_V4);
  const bytes = family === 6 ? v6Bytes(address) : undefined;
  if (!bytes) return false;
  const carried = mappedIPv4(bytes);
  if (carried) return inRange(carried, LOOPBACK_V4);
  return bytes.every((b, i) => b === (i === 15 ? 1 : 0));
}

type Range = readonly [prefix: readonly number[], bits: number];

const LOOPBACK_V4: Range = [[127], 8];
const V4_NOT_PUBLIC: readonly Range[] = [
  [[0], 8],
  [[10], 8],
  [[100, 64], 10],
  LOOPBACK_V4,
  [[169, 254], 16],
  [[172, 16], 12],
  [[192, 0, 0], 24],
  [[192, 0, 2], 24],
  [[192, 88, 99], 24],
  [[192, 168], 16],
  [[198, 18], 15],
  [[198, 51, 100], 24],
  [[203, 0, 113], 24],
  [[224], 4],
  [[240], 4],
];
const GLOBAL_UNICAST: Range = [[0x20], 3];
const V6_SPECIAL: readonly Range[] = [
  [[0x20, 0x01, 0x00], 23],
  [[0x20, 0x01, 0x0d, 0xb8], 32],
  [[0x20, 0x02], 16],
  [[0x3f, 0xff, 0x00], 20],
];

function inRange(bytes: readonly number[], [prefix, bits]: Range): boolean {
  for (let i = 0; i * 8 < bits; i++) {
    const take = Math.min(8, bits - i * 8);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((bytes[i] ?? 0) & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

function inAny(bytes: readonly number[], ranges: readonly Range[]): boolean {
  return ranges.some((r) => inRange(bytes, r));
}

function v4Bytes(address: string): number[] {
  return address.split(".").map(Number);
}

// ::ffff:0:0/96 (IPv4-mapped, RFC 4291 §2.5.5.2).
function mappedIPv4(bytes: readonly number[]): number[] | undefined {
  return bytes.slice(0, 12).every((b, i) => b === (i < 10 ? 0 : 0xff)) ? bytes.slice(12) : undefined;
}

// IPv4-mapped and 64:ff9b::/96 (NAT64, RFC 6052) addresses carry an IPv4 address.
function carriedIPv4(bytes: readonly number[]): number[] | undefined {
  const nat64 =
    [0, 0x64, 0xff, 0x9b].every((b, i) => bytes[i] === b) && bytes.slice(4, 12).every((b) => b === 0);
  return mappedIPv4(bytes) ?? (nat64 ? bytes.slice(12) : undefined);
}

/** The 16 bytes of a valid IPv6 address (as net.isIP accepts it); undefined with a zone id. */
function v6Bytes(address: string): number[] | undefined {
  // A zone (fe80::1%eth0) only exists on link-local addresses: never public.
  if (address.includes("%")) return undefined;
  let text = address;
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    if (!isIPv4(tail)) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = v4Bytes(tail);
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", rest] = text.split("::");
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const all = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  if (all.length !== 8) return undefined;
  return all.flatMap((g) => {
    const n = Number.parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}
