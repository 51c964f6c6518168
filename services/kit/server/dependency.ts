/**
 * What a service needs in order to serve (its database, the revocation feed, signing keys), fed
 * into its health registry: a down dependency turns `grpc.health.v1` NOT_SERVING and `/readyz` 503
 * naming it, both from the one registry (`health.ts`, docs/architecture.md "Health for orchestrators").
 */
import type { Logger } from "../log/logger.js";
import type { HealthService } from "./health.js";

export interface Dependency {
  /** The name `/readyz` reports it under, e.g. `database`. */
  readonly name: string;
  /**
   * Calls `report` with the dependency's state once it is known and on every change, until the
   * returned function is called. Resolves once the first state has been reported.
   */
  follow(report: (ready: boolean) => void): Promise<() => void>;
}

export interface PollOptions {
  /** Time between the end of one check and the start of the next. */
  readonly intervalMs?: number;
  /** A check still running after this long counts as failed (a hung connection is a down one). */
  readonly timeoutMs?: number;
}

/**
 * A dependency known by asking: `check` resolves (ready) or throws (not ready); asked at once, then
 * every `intervalMs`. Checks never overlap; the timer does not keep the process alive.
 */
export function polledDependency(
  name: string,
  check: () => unknown,
  { intervalMs = 5_000, timeoutMs = 3_000 }: PollOptions = {},
): Dependency {
  return {
    name,
    async follow(report) {
      let stopped = false;
      let timer: NodeJS.Timeout | undefined;
      const probe = async () => {
        const ready = await withTimeout(check, timeoutMs);
        if (stopped) return;
        report(ready);
        timer = setTimeout(probe, intervalMs);
        timer.unref();
      };
      await probe();
      return () => {
        stopped = true;
        clearTimeout(timer);
      };
    },
  };
}

async function withTimeout(check: () => unknown, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([
      Promise.resolve()
        .then(check)
        .then(
          () => true,
          () => false,
        ),
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Feeds every dependency into `health` (`setDependency`), logging each change of state by name
 * only (an error's text may carry an address). Resolves, once each has reported, to a stop function.
 */
export async function followDependencies(
  health: Pick<HealthService, "setDependency">,
  dependencies: readonly Dependency[],
  logger: Logger,
): Promise<() => void> {
  const stops = await Promise.all(
    dependencies.map((dependency) => {
      let last: boolean | undefined;
      return dependency.follow((ready) => {
        if (last !== undefined && last !== ready) {
          if (ready) logger.info({ dependency: dependency.name }, "dependency ready again");
          else logger.warn({ dependency: dependency.name }, "dependency not ready: health NOT_SERVING");
        } else if (last === undefined && !ready) {
          logger.warn({ dependency: dependency.name }, "dependency not ready at start: health NOT_SERVING");
        }
        last = ready;
        health.setDependency(dependency.name, ready);
      });
    }),
  );
  return () => {
    for (const stop of stops) stop();
  };
}
