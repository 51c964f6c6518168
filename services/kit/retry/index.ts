export { type BackoffSchedule, backoffDelayMs, REFUSED_CONNECTION_BACKOFF } from "./backoff.js";
export { sleep } from "./sleep.js";
