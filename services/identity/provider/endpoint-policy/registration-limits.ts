import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import type { SlidingWindow } from "../../throttle/sliding-window.js";
import { makeRoom } from "./client-eviction.js";
import { type AddressDeps, addressOf, type LimitContext, refuse } from "./policy-context.js";
import { registrationProblem, withPublicClientDefault } from "./registration-problem.js";

export interface RegistrationLimitDeps extends AddressDeps {
  readonly db: Database;
  readonly registrationsPerAddress: SlidingWindow;
  readonly maxClients: number;
  readonly logger: Logger;
}

/**
 * A registration (RFC 7591, open because MCP clients register themselves): counted per client
 * address, held to the redirect URI and grant rules, and made room for in a capped table.
 */
export async function limitRegistration(
  deps: RegistrationLimitDeps,
  ctx: LimitContext,
  next: () => Promise<void>,
): Promise<void> {
  const { logger } = deps;
  const address = addressOf(ctx, deps) ?? "?";
  const now = Date.now();
  const wait = deps.registrationsPerAddress.blockedFor(address, now);
  if (wait > 0) {
    logger.warn({ client_address: address }, "client registration refused: too many from this address");
    return refuse(ctx, 429, "too many client registrations from this address", Math.ceil(wait / 1000));
  }
  const problem = registrationProblem((ctx.req as { body?: string }).body);
  if (problem) {
    ctx.status = 400;
    ctx.set("cache-control", "no-store");
    ctx.body = problem;
    logger.warn({ client_address: address, ...problem }, `client registration refused: ${problem.error}`);
    return;
  }
  const request = ctx.req as { body?: string };
  request.body = withPublicClientDefault(request.body);
  if (!(await makeRoom(deps.db, deps.maxClients, logger))) {
    return refuse(ctx, 503, "the client registry is full", 3600);
  }
  await next();
  if (ctx.status === 201) {
    deps.registrationsPerAddress.record(address, now);
    logger.info({ client_address: address }, "oauth client registered");
  }
}
