export { type BackoffSchedule, backoffDelayMs, REFUSED_CONNECTION_BACKOFF } from "./backoff.js";
export { sleep } from "./sleep.js";
export { untilAborted } from "./until-aborted.js";
