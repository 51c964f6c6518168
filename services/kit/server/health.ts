/**
 * grpc.health.v1.Health for connect-es v2.
 *
 * Why in-house: connect-es has no health package (connect-es#797 is open), while load balancers,
 * Kubernetes gRPC probes, k6 (`client.healthCheck`) and grpcurl all speak this protocol. Semantics
 * follow grpc-go's `health.Server`: the empty service name is the whole server and starts SERVING;
 * `Watch` sends the current status, then only changes (intermediate values may be coalesced);
 * `shutdown()` flips everything to NOT_SERVING, ends every Watch after it has sent that, and ignores
 * later updates so a late `setStatus` cannot advertise a draining server as healthy again.
 * Additions: `setDependency` (a dependency every service needs is down → all NOT_SERVING),
 * `questions` (a dependency checked only when asked is checked before the answer: Check, List,
 * `/readyz`, and every `watchRecheckMs` while a Watch is open) and `onDraining` (other services'
 * long-lived streams end when the server starts shutting down).
 */
import { create } from "@bufbuild/protobuf";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { HealthCheckResponse } from "#gen/grpc/health/v1/health_pb.js";
import {
  Health,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "#gen/grpc/health/v1/health_pb.js";

export { ServingStatus };

/** Same cap as grpc-go: `List` refuses to answer beyond this many entries (RESOURCE_EXHAUSTED). */
const MAX_LISTED_SERVICES = 100;

export interface HealthOptions {
  /** How often an open Watch asks the dependencies checked on question; 5 s. */
  readonly watchRecheckMs?: number;
}

/** A health registry plus the handler that publishes it. */
export interface HealthService {
  /** Adds grpc.health.v1.Health to `router`. */
  register(router: ConnectRouter): void;
  /** Sets the status of `service` ("" = the whole server). Ignored after `shutdown()`. */
  setStatus(service: string, status: ServingStatus): void;
  /**
   * Marks every known service NOT_SERVING, freezes the statuses and ends Watch streams once they
   * have sent NOT_SERVING; call on SIGTERM before draining.
   */
  shutdown(): void;
  /**
   * Reports whether something every service here needs is usable (the revocation feed, say).
   * While any dependency is down, every status reads NOT_SERVING (Check, Watch, List); the set
   * statuses come back when all are up again. Ignored after `shutdown()`.
   */
  setDependency(name: string, serving: boolean): void;
  /**
   * Whether the whole server ("") reads SERVING, and if not, what is not ready: the down
   * dependencies, `shutting-down` while draining. What `/readyz` answers (`health-routes.ts`), so
   * it never disagrees with `Check("")`. Asks the dependencies first, as `Check` does.
   */
  readiness(): Promise<Readiness>;
  /** Where dependencies hear that someone asks (`followDependencies` hands it to each). */
  readonly questions: HealthQuestions;
}

/** How the health registry tells a dependency that someone asks (`health.ts`). */
export interface HealthQuestions {
  /**
   * Calls `listener` before each answer (`Check`, `List`, `/readyz`, and every few seconds while a
   * `Watch` is open); the answer waits for the promise it returns. Returns a function that removes it.
   */
  onQuestion(listener: () => Promise<void>): () => void;
}

/** The server's readiness as `/readyz` reports it: names only, never an error's text. */
export interface Readiness {
  readonly ready: boolean;
  readonly notReady: readonly string[];
}

// Draining hooks by router: a service registers its routes on the router it is given, which is
// where it meets its server, so that is where it can ask to hear about the server's shutdown.
const drainingHooks = new WeakMap<ConnectRouter, Set<() => void>>();

/**
 * Calls `listener` when the server whose health is registered on `router` starts shutting down:
 * long-lived server streams (like health's own Watch) end then, instead of holding the graceful
 * close for its whole grace period. Register from a service's route registration.
 */
export function onDraining(router: ConnectRouter, listener: () => void): void {
  let hooks = drainingHooks.get(router);
  if (!hooks) {
    hooks = new Set();
    drainingHooks.set(router, hooks);
  }
  hooks.add(listener);
}

/** The registry's state: what `register`'s handlers read and the setters change. */
interface HealthState {
  readonly statuses: Map<string, ServingStatus>;
  readonly downDependencies: Set<string>;
  /** After `shutdown()`: statuses no longer change. */
  frozen: boolean;
  /** One shared "something changed" promise, replaced on every change so watchers never miss one. */
  changed: { promise: Promise<void>; resolve: () => void };
  readonly watchRecheckMs: number;
  /** What `questions.onQuestion` registered: run before each answer. */
  readonly questionListeners: Set<() => Promise<void>>;
}

/** Creates a health registry in which only the overall server ("") is known, as SERVING. */
export function createHealth({ watchRecheckMs = 5_000 }: HealthOptions = {}): HealthService {
  const state: HealthState = {
    statuses: new Map<string, ServingStatus>([["", ServingStatus.SERVING]]),
    downDependencies: new Set<string>(),
    frozen: false,
    changed: deferred(),
    watchRecheckMs,
    questionListeners: new Set(),
  };
  const routers: ConnectRouter[] = [];
  const notify = () => {
    const d = state.changed;
    state.changed = deferred();
    d.resolve();
  };
  return {
    register(router) {
      routers.push(router);
      router.service(Health, healthHandlers(state));
    },
    setStatus(service, status) {
      if (state.frozen || state.statuses.get(service) === status) return;
      state.statuses.set(service, status);
      notify();
    },
    shutdown() {
      state.frozen = true;
      for (const name of state.statuses.keys()) state.statuses.set(name, ServingStatus.NOT_SERVING);
      notify();
      runDrainingHooks(routers);
    },
    setDependency(name, serving) {
      if (state.frozen || state.downDependencies.has(name) === !serving) return;
      if (serving) state.downDependencies.delete(name);
      else state.downDependencies.add(name);
      notify();
    },
    readiness: async () => {
      await ask(state);
      return readiness(state);
    },
    questions: {
      onQuestion(listener) {
        state.questionListeners.add(listener);
        return () => state.questionListeners.delete(listener);
      },
    },
  };
}

/**
 * Lets every dependency checked on question check before an answer is read. A check's failure is
 * its report (not ready), never the answer's: a listener cannot make Check fail. After
 * `shutdown()` the statuses are frozen, so nothing is asked.
 */
async function ask(state: HealthState): Promise<void> {
  if (state.frozen || state.questionListeners.size === 0) return;
  await Promise.all([...state.questionListeners].map((listener) => listener().catch(() => undefined)));
}

const response = (status: ServingStatus): HealthCheckResponse =>
  create(HealthCheckResponseSchema, { status });

/** The status as published: a down dependency turns SERVING into NOT_SERVING. */
function published(state: HealthState, status: ServingStatus | undefined): ServingStatus | undefined {
  return status === ServingStatus.SERVING && state.downDependencies.size > 0
    ? ServingStatus.NOT_SERVING
    : status;
}

/** grpc.health.v1.Health's Check, Watch and List over `state`. */
function healthHandlers(state: HealthState): ServiceImpl<typeof Health> {
  return {
    async check(req) {
      await ask(state);
      const status = published(state, state.statuses.get(req.service));
      if (status === undefined) throw new ConnectError(`unknown service: ${req.service}`, Code.NotFound);
      return response(status);
    },
    watch: (req, ctx) => watchStatus(state, req.service, ctx.signal),
    async list() {
      await ask(state);
      if (state.statuses.size > MAX_LISTED_SERVICES) {
        throw new ConnectError(`more than ${MAX_LISTED_SERVICES} services`, Code.ResourceExhausted);
      }
      return {
        statuses: Object.fromEntries(
          [...state.statuses].map(([name, s]) => [name, response(published(state, s) ?? s)]),
        ),
      };
    },
  };
}

async function* watchStatus(state: HealthState, service: string, signal: AbortSignal) {
  const aborted = new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
  let last: ServingStatus | undefined;
  while (!signal.aborted) {
    // Take the change promise before reading, so a change during `yield` is not lost.
    const next = state.changed.promise;
    await ask(state);
    const current = published(state, state.statuses.get(service)) ?? ServingStatus.SERVICE_UNKNOWN;
    const final = state.frozen; // read with `current`: a frozen status is the last one
    if (current !== last) {
      last = current;
      yield response(current);
    }
    // A draining server says NOT_SERVING, then ends the stream: an open Watch would
    // otherwise hold shutdown for the whole grace period.
    if (final) return;
    // Someone follows: the dependencies checked on question are asked again every few seconds.
    let recheck: NodeJS.Timeout | undefined;
    await Promise.race([
      next,
      aborted,
      new Promise<void>((resolve) => {
        recheck = setTimeout(resolve, state.watchRecheckMs);
        recheck.unref();
      }),
    ]);
    clearTimeout(recheck);
  }
}

function runDrainingHooks(routers: readonly ConnectRouter[]): void {
  for (const router of routers) {
    for (const hook of drainingHooks.get(router) ?? []) {
      try {
        hook();
      } catch {
        // One service's hook failing must not keep the others' streams open through the grace.
      }
    }
  }
}

function readiness(state: HealthState): Readiness {
  const ready = published(state, state.statuses.get("")) === ServingStatus.SERVING;
  if (ready) return { ready, notReady: [] };
  const notReady = [...(state.frozen ? ["shutting-down"] : []), ...[...state.downDependencies].sort()];
  // Someone set the whole server NOT_SERVING by hand: say so rather than naming nothing.
  return { ready, notReady: notReady.length > 0 ? notReady : ["server"] };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
