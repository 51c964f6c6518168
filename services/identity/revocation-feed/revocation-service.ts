import type { ConnectRouter } from "@connectrpc/connect";
import { RevocationService } from "#gen/supportext/auth/v1/revocation_pb.js";
import { SERVICE_IDS } from "#kit/auth/index.js";
import { onDraining } from "#kit/server/index.js";
import type { RevocationFeed } from "./revocation-feed.js";

/**
 * Who may subscribe (docs/architecture.md, "Who may call what"): the verifiers behind the edge,
 * with their own service credential and no user. For the server's caller policy; the handler itself
 * needs nothing from the caller.
 */
export const REVOCATION_FEED_CALLERS: readonly string[] = [
  SERVICE_IDS.chat,
  SERVICE_IDS.agent,
  SERVICE_IDS.gateway,
  SERVICE_IDS.mcpServer,
];

/** "supportext.auth.v1.RevocationService/Watch", the one procedure of the feed. */
export const REVOCATION_WATCH_PROCEDURE = `${RevocationService.typeName}/${RevocationService.method.watch.name}`;

/**
 * `supportext.auth.v1.RevocationService` on `router`. Its streams never end on their own, so they
 * end when the server starts draining (`onDraining`): subscribers resubscribe — to another replica,
 * or to this one once it is back — instead of holding the graceful close for its whole grace.
 */
export function registerRevocationService(router: ConnectRouter, feed: RevocationFeed): void {
  const draining = new AbortController();
  onDraining(router, () => draining.abort());
  router.service(RevocationService, {
    watch: (_req, ctx) => feed.subscribe(AbortSignal.any([ctx.signal, draining.signal])),
  });
}
