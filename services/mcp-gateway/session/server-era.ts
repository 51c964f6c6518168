import type { Client, DiscoverResult } from "@modelcontextprotocol/client";

/** How the gateway talks to the MCP server (docs/mcp-gateway.md, "Protocol revisions"). */
export type VersionPolicy =
  /** Probe with `server/discover`; 2026-07-28 when the server offers it, else the 2025 handshake. */
  | { readonly kind: "auto" }
  /** Exactly this revision; a server that does not offer it is an error (MCP_PROTOCOL_VERSION). */
  | { readonly kind: "pinned"; readonly version: string };

export const MODERN_REVISION = "2026-07-28";

/** `MCP_PROTOCOL_VERSION`: empty or "auto" negotiates; anything else pins. */
export function versionPolicy(setting: string): VersionPolicy {
  const v = setting.trim();
  return v === "" || v === "auto" ? { kind: "auto" } : { kind: "pinned", version: v };
}

export function isModernRevision(version: string): boolean {
  return version >= MODERN_REVISION;
}

export type Prior = { kind: "modern"; discover: DiscoverResult } | { kind: "legacy" };

/** How long a server found to speak only the 2025 family is believed before it is probed again. */
const LEGACY_VERDICT_MS = 5 * 60_000;

/**
 * What one MCP server speaks, learned once and shared by every principal's client: the first
 * connection probes `server/discover`, the rest adopt its answer with no round trip. Shared only
 * because the server says its discover result is the same for everyone (`cacheScope: "public"`),
 * and only for its `ttlMs`; a result marked private is never reused across principals. A client
 * whose adopted verdict turns out stale calls `forget()` and probes again.
 */
export class ServerEra {
  private prior: { value: Prior; until: number } | undefined;
  private probing: Promise<void> | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** The verdict to adopt at connect, if one is known and fresh. */
  current(): Prior | undefined {
    if (this.prior && this.prior.until > this.now()) return this.prior.value;
    this.prior = undefined;
    return undefined;
  }

  /**
   * Decided synchronously, so that many principals connecting at once (a burst after start) probe
   * the server once, not once each: a fresh verdict to adopt; or a probe another client has in
   * flight, to wait for and then ask again; or the probe is this caller's — it must call `done()`
   * once its connection attempt has ended (after `learn` when it succeeded).
   */
  turn(): { prior: Prior } | { wait: Promise<void> } | { probe: { done: () => void } } {
    const known = this.current();
    if (known) return { prior: known };
    if (this.probing) return { wait: this.probing };
    let done = () => {};
    const probing = new Promise<void>((resolve) => {
      done = resolve;
    });
    this.probing = probing;
    return {
      probe: {
        done: () => {
          if (this.probing === probing) this.probing = undefined;
          done();
        },
      },
    };
  }

  /** Learns from a client that has just connected by probing. */
  learn(client: Client): void {
    if (client.getProtocolEra() === "legacy") {
      this.prior = { value: { kind: "legacy" }, until: this.now() + LEGACY_VERDICT_MS };
      return;
    }
    const discover = client.getDiscoverResult();
    if (!discover) return;
    const hints = discover as DiscoverResult & { cacheScope?: string; ttlMs?: number };
    if (hints.cacheScope !== "public" || !hints.ttlMs || hints.ttlMs <= 0) return;
    this.prior = { value: { kind: "modern", discover }, until: this.now() + hints.ttlMs };
  }

  forget(): void {
    this.prior = undefined;
  }
}
