// The module's public face: what the rest of the product uses of it (docs/architecture.md, "The kit").
export { createLogger, type Logger } from "./logger.js";
export { REDACTED, scrubSecrets } from "./scrub.js";
