/**
 * What a service needs in order to serve (its database, the revocation feed, signing keys), fed
 * into its health registry: a down dependency turns `grpc.health.v1` NOT_SERVING and `/readyz` 503
 * naming it, both from the one registry (`health.ts`, docs/architecture.md "Health for orchestrators").
 */
import type { Logger } from "../log/logger.js";
import type { HealthQuestions, HealthService } from "./health.js";

export interface Dependency {
  /** The name `/readyz` reports it under, e.g. `database`. */
  readonly name: string;
  /**
   * Calls `report` with the dependency's state once it is known and on every change, until the
   * returned function is called. Resolves once the first state has been reported. `questions`
   * says when someone asks the service's health, for a dependency that is checked only then.
   */
  follow(report: (ready: boolean) => void, questions: HealthQuestions): Promise<() => void>;
}

export interface CheckOptions {
  /** An answer this recent is given again without checking (a burst of probes checks once). */
  readonly maxAgeMs?: number;
  /**
   * A check still running after this long counts as failed (a hung connection is a down one): 2 s,
   * under the 3 s an orchestrator's probe waits (deploy/), so a hung database is answered with a
   * 503 naming it rather than with a probe's timeout.
   */
  readonly timeoutMs?: number;
}

/**
 * A dependency known by asking: `check` resolves (ready) or throws (not ready). It is checked once
 * at start, then only when someone asks the service's health (docs/architecture.md, "Health for
 * orchestrators"): an orchestrator's probe gets a state at most `maxAgeMs` old, and a service that
 * nobody probes does not keep a database connection open, nor wake its database, to answer no one.
 * Checks never overlap: questions that arrive during a check wait for that one.
 */
export function checkedDependency(
  name: string,
  check: () => unknown,
  { maxAgeMs = 1_000, timeoutMs = 2_000 }: CheckOptions = {},
): Dependency {
  return {
    name,
    async follow(report, questions) {
      let stopped = false;
      let checkedAt = Number.NEGATIVE_INFINITY;
      let running: Promise<void> | undefined;
      const probe = (): Promise<void> => {
        running ??= withTimeout(check, timeoutMs).then((ready) => {
          // The monotonic clock: a wall-clock step must not make an old answer look fresh.
          checkedAt = performance.now();
          running = undefined;
          if (!stopped) report(ready);
        });
        return running;
      };
      await probe();
      const stopListening = questions.onQuestion(() =>
        performance.now() - checkedAt < maxAgeMs ? Promise.resolve() : probe(),
      );
      return () => {
        stopped = true;
        stopListening();
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
  health: Pick<HealthService, "setDependency" | "questions">,
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
      }, health.questions);
    }),
  );
  return () => {
    for (const stop of stops) stop();
  };
}
