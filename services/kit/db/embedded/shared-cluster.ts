import { DataDirLockedError } from "../data-dir-lock.js";
import type { DatabaseLogger } from "../types.js";
import {
  embeddedPostgresUrl,
  type RunningEmbeddedPostgres,
  startEmbeddedPostgres,
} from "./embedded-postgres.js";

/** The embedded cluster of a DATA_DIR as one caller of this process uses it. */
export interface ClusterUse {
  readonly url: string;
  /** Done with it: the last user of a cluster this process started stops it. */
  release(): Promise<void>;
}

interface Shared {
  readonly started: Promise<RunningEmbeddedPostgres | undefined>;
  users: number;
}

/** Per DATA_DIR, the cluster this process started (or found running) and how many use it. */
const clusters = new Map<string, Shared>();

/**
 * The embedded PostgreSQL of `dataDir` for a tool or a service started on its own (`npm run audit`,
 * `npm run rotate-keys`, a service outside `npm start`; docs/architecture.md, "Data"): the running
 * stack's server when one holds it, otherwise one started here until the last user releases it.
 */
export async function useEmbeddedCluster(dataDir: string, logger?: DatabaseLogger): Promise<ClusterUse> {
  let shared = clusters.get(dataDir);
  if (!shared) {
    const quiet = () => undefined;
    const started = startEmbeddedPostgres({
      dataDir,
      logger: {
        info: (obj, msg) => logger?.info(obj, msg),
        warn: (obj, msg) => logger?.error?.(obj, msg),
        debug: quiet,
      },
    }).catch((err: unknown) => {
      // Held by a running stack: its server is there to use.
      if (err instanceof DataDirLockedError && err.holderPid !== process.pid) return undefined;
      throw err;
    });
    shared = { started, users: 0 };
    clusters.set(dataDir, shared);
    started.catch(() => clusters.delete(dataDir));
  }
  shared.users++;
  const current = shared;
  let server: RunningEmbeddedPostgres | undefined;
  try {
    server = await current.started;
  } catch (err) {
    current.users--;
    throw err;
  }
  let released = false;
  return {
    url: server?.url ?? embeddedPostgresUrl(dataDir),
    async release() {
      if (released) return;
      released = true;
      current.users--;
      if (current.users > 0 || !server) {
        if (current.users === 0) clusters.delete(dataDir);
        return;
      }
      clusters.delete(dataDir);
      await server.stop();
    },
  };
}
