// The module's public face: what the rest of the product uses of it (docs/architecture.md, "The kit").
export {
  type Config,
  ConfigError,
  EXIT_INVALID_CONFIG,
  isDevelopmentDefault,
  loadConfig,
  parseConfig,
  refuseDevelopmentSecrets,
  type SecretName,
} from "./config.js";
export { parseDurationSeconds } from "./duration.js";
export { readSecretFiles, SECRET_VARIABLES, withoutSecrets } from "./secret-files.js";
