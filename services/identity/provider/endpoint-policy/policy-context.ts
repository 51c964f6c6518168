import { clientAddressFrom } from "../../throttle/client-address.js";

/** The Koa context parts the limits read and answer with. */
export interface LimitContext {
  readonly path: string;
  readonly method: string;
  readonly req: { readonly socket: { readonly remoteAddress?: string | undefined } };
  get(header: string): string;
  set(header: string, value: string): void;
  status: number;
  body: unknown;
}

/** What the limits need to tell a request's address. */
export interface AddressDeps {
  readonly trustedProxyHops: number;
  /** Hears every request that came with no usable address (missing-address-warning.ts). */
  readonly onMissingAddress?: () => void;
}

/** The client's address: the socket peer unless `trustedProxyHops` names proxies in front. */
export function addressOf(ctx: LimitContext, deps: AddressDeps): string | undefined {
  const address = clientAddressFrom(
    ctx.get("x-forwarded-for") || undefined,
    deps.trustedProxyHops,
    ctx.req.socket.remoteAddress,
  );
  if (address === undefined) deps.onMissingAddress?.();
  return address;
}

/** Answers `temporarily_unavailable` with the status given and when to come back. */
export function refuse(ctx: LimitContext, status: number, description: string, retryAfterSec: number): void {
  ctx.status = status;
  ctx.set("retry-after", String(retryAfterSec));
  ctx.set("cache-control", "no-store");
  ctx.body = { error: "temporarily_unavailable", error_description: description };
}
