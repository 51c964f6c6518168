import { createHash } from "node:crypto";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { createServiceClient } from "../client/service-client.js";
import type { Logger } from "../log/logger.js";
import { kCredential, kPrincipal, kRequestId, kTrace } from "../propagation/context-keys.js";
import { type Observation, RelayService } from "./gen/supportext/relay/v1/relay_pb.js";

export interface RelayHop {
  readonly name: string;
  /** Base URL of the next hop; none for the last hop. */
  readonly next?: string;
  /**
   * How this hop's handler forwards identity: "explicit" passes `ctx.values` in the call options,
   * "implicit" passes nothing and relies on the call scope opened around the request handler.
   */
  readonly forward: "explicit" | "implicit";
  /** Used by the diagnostic nonces below. */
  readonly logger?: Logger;
}

/**
 * Nonces of `Inspect` that make the hops behave like careless code, so tests can prove that no
 * credential reaches the logs whatever a handler does.
 */
export const RELAY_DIAGNOSTICS = {
  /** Every hop logs its request headers, authorization included, before forwarding. */
  logHeaders: "diagnostic:log-headers",
  /** The last hop fails with a plain Error whose message quotes the caller's authorization header. */
  failQuotingCredential: "diagnostic:fail-quoting-credential",
} as const;

function observe(hop: string, ctx: HandlerContext): Observation {
  const credential = ctx.values.get(kCredential);
  return {
    $typeName: "supportext.relay.v1.Observation",
    hop,
    userId: ctx.values.get(kPrincipal)?.userId ?? "",
    traceId: ctx.values.get(kTrace)?.traceId ?? "",
    requestId: ctx.values.get(kRequestId) ?? "",
    credentialSha256: credential ? createHash("sha256").update(credential).digest("hex") : "",
  };
}

/** Routes of one diagnostic relay hop (see services/kit/testing/proto/supportext/relay/v1/relay.proto). */
export function relayRoutes(hop: RelayHop): (router: ConnectRouter) => void {
  const next = hop.next ? createServiceClient(RelayService, hop.next) : undefined;
  const options = (ctx: HandlerContext) =>
    hop.forward === "explicit" ? { contextValues: ctx.values, signal: ctx.signal } : { signal: ctx.signal };
  return (router) =>
    router.service(RelayService, {
      async inspect(req, ctx) {
        const mine = observe(hop.name, ctx);
        if (req.nonce === RELAY_DIAGNOSTICS.logHeaders) {
          hop.logger?.info(
            { call: { nonce: req.nonce, headers: Object.fromEntries(ctx.requestHeader) } },
            "request headers",
          );
        }
        if (req.nonce === RELAY_DIAGNOSTICS.failQuotingCredential && !next) {
          throw new Error(`downstream refused ${ctx.requestHeader.get("authorization")}`);
        }
        // Yield once so concurrent calls interleave before the downstream call is made.
        await new Promise((r) => setImmediate(r));
        const downstream = next ? (await next.inspect({ nonce: req.nonce }, options(ctx))).hops : [];
        return { nonce: req.nonce, hops: [mine, ...downstream] };
      },
      async *inspectStream(req, ctx) {
        const count = Math.min(Math.max(req.count, 1), 100);
        const mine = observe(hop.name, ctx);
        if (!next) {
          for (let index = 0; index < count; index++) {
            await new Promise((r) => setImmediate(r));
            yield { nonce: req.nonce, index, hops: [mine] };
          }
          return;
        }
        for await (const msg of next.inspectStream({ nonce: req.nonce, count }, options(ctx))) {
          yield { nonce: req.nonce, index: msg.index, hops: [mine, ...msg.hops] };
        }
      },
    });
}
