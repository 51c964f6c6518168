import { create } from "@bufbuild/protobuf";
import {
  type RemovedKey,
  RemovedKeySchema,
  RevocationService,
  type RevokedSession,
  RevokedSessionSchema,
  type WatchResponse,
  WatchResponseSchema,
} from "#gen/supportext/auth/v1/revocation_pb.js";
import { AuthError } from "../../auth/auth-error.js";
import type { Logger } from "../../log/logger.js";
import { type ServiceServer, startServiceServer } from "../../server/service-server.js";

const WATCH = `${RevocationService.typeName}/Watch`;

/**
 * A scriptable RevocationService on a real loopback server, for the watcher's tests: a snapshot
 * of what it was told, pushed revocations, heartbeats (or silence), and stop/start on one port.
 * The identity provider's real feed is tested in services/identity/revocation-feed/.
 */
export interface FakeRevocationFeed {
  readonly url: string;
  /** The `authorization` header of every Watch call, in order (null = none sent). */
  readonly calls: (string | null)[];
  /** Records a revocation and pushes it to open streams (it is in later snapshots too). */
  revoke(sessionId: string, revokedAtMs?: number, reason?: string): void;
  /** Records a revocation without pushing it (it happened while nobody listened). */
  revokeQuietly(sessionId: string, revokedAtMs?: number): void;
  /** Records a signing key's removal and pushes it to open streams (in later snapshots too). */
  removeKey(kid: string): void;
  /** Leaves every removed key out of later snapshots (the identity provider's horizon passed). */
  forgetRemovedKeys(): void;
  /** Stops sending heartbeats while keeping streams open (a stuck feed). */
  silence(on: boolean): void;
  readonly openStreams: number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startFakeRevocationFeed(options: {
  logger: Logger;
  heartbeatMs: number;
  port: number;
}): Promise<FakeRevocationFeed> {
  const revoked: RevokedSession[] = [];
  let removedKeys: RemovedKey[] = [];
  const streams = new Set<(m: WatchResponse) => void>();
  const calls: (string | null)[] = [];
  let silent = false;
  let server: ServiceServer | undefined;

  const session = (sessionId: string, revokedAtMs: number, reason: string) =>
    create(RevokedSessionSchema, { sessionId, revokedAtMs: BigInt(revokedAtMs), reason });

  const start = async () => {
    server = await startServiceServer({
      name: "fake-feed",
      host: "127.0.0.1",
      port: options.port,
      logger: options.logger,
      corsOrigins: [],
      // Stopping is a crash, not a drain: open streams are cut at once.
      shutdownGraceMs: 0,
      // Watch needs no user; a user token sent by mistake would be verified, and refused.
      auth: {
        verifier: {
          verify: async () => {
            throw new AuthError("bad_signature");
          },
        },
        publicProcedures: new Set([WATCH]),
      },
      routes: (router) =>
        router.service(RevocationService, {
          async *watch(_req, ctx) {
            calls.push(ctx.requestHeader.get("authorization"));
            const queue: WatchResponse[] = [
              create(WatchResponseSchema, {
                snapshot: true,
                sessions: [...revoked],
                removedKeys: [...removedKeys],
              }),
            ];
            let wake: (() => void) | undefined;
            const push = (m: WatchResponse) => {
              queue.push(m);
              wake?.();
            };
            const beat = setInterval(() => {
              if (!silent) push(create(WatchResponseSchema, {}));
            }, options.heartbeatMs);
            const onAbort = () => wake?.();
            ctx.signal.addEventListener("abort", onAbort);
            streams.add(push);
            try {
              while (!ctx.signal.aborted) {
                const next = queue.shift();
                if (next) yield next;
                else await new Promise<void>((r) => (wake = r));
              }
            } finally {
              clearInterval(beat);
              streams.delete(push);
              ctx.signal.removeEventListener("abort", onAbort);
            }
          },
        }),
    });
  };
  await start();

  return {
    get url() {
      if (!server) throw new Error("the fake feed is stopped");
      return server.url;
    },
    calls,
    revoke(sessionId, revokedAtMs = Date.now(), reason = "logout") {
      const s = session(sessionId, revokedAtMs, reason);
      revoked.push(s);
      for (const push of streams) push(create(WatchResponseSchema, { sessions: [s] }));
    },
    removeKey(kid) {
      const key = create(RemovedKeySchema, { kid, removedAtMs: BigInt(Date.now()) });
      removedKeys.push(key);
      for (const push of streams) push(create(WatchResponseSchema, { removedKeys: [key] }));
    },
    forgetRemovedKeys() {
      removedKeys = [];
    },
    revokeQuietly(sessionId, revokedAtMs = Date.now()) {
      revoked.push(session(sessionId, revokedAtMs, "admin"));
    },
    silence(on) {
      silent = on;
    },
    get openStreams() {
      return streams.size;
    },
    async stop() {
      const s = server;
      server = undefined;
      await s?.close();
    },
    start,
  };
}
