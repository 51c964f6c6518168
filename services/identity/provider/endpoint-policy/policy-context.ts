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

/** The client's address: the socket peer unless `trustedProxyHops` names proxies in front. */
export function addressOf(ctx: LimitContext, trustedProxyHops: number): string | undefined {
  return clientAddressFrom(
    ctx.get("x-forwarded-for") || undefined,
    trustedProxyHops,
    ctx.req.socket.remoteAddress,
  );
}

/** Answers `temporarily_unavailable` with the status given and when to come back. */
export function refuse(ctx: LimitContext, status: number, description: string, retryAfterSec: number): void {
  ctx.status = status;
  ctx.set("retry-after", String(retryAfterSec));
  ctx.set("cache-control", "no-store");
  ctx.body = { error: "temporarily_unavailable", error_description: description };
}
