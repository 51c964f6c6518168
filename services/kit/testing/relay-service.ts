import { createHash } from "node:crypto";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import {
  type Observation,
  RelayService,
} from "../../../gen/supportext/relay/v1/relay_pb.js";
import { createServiceClient } from "../client/service-client.js";
import { kCredential, kPrincipal, kRequestId, kTrace } from "../propagation/context-keys.js";

export interface RelayHop {
  readonly name: string;
  /** Base URL of the next hop; none for the last hop. */
  readonly next?: string;
  /**
   * How this hop's handler forwards identity: "explicit" passes `ctx.values` in the call options,
   * "implicit" passes nothing and relies on the call scope opened around the request handler.
   */
  readonly forward: "explicit" | "implicit";
}

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

/** Routes of one diagnostic relay hop (see proto/supportext/relay/v1/relay.proto). */
export function relayRoutes(hop: RelayHop): (router: ConnectRouter) => void {
  const next = hop.next ? createServiceClient(RelayService, hop.next) : undefined;
  const options = (ctx: HandlerContext) =>
    hop.forward === "explicit" ? { contextValues: ctx.values, signal: ctx.signal } : { signal: ctx.signal };
  return (router) =>
    router.service(RelayService, {
      async inspect(req, ctx) {
        const mine = observe(hop.name, ctx);
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
