import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "#kit/config/index.js";

/** Where a development data directory keeps the secret sealing the identity provider's signing keys. */
export const SIGNING_KEY_SECRET_FILE_NAME = "signing-key.secret";

/**
 * The configuration with the secret the identity provider seals its private signing keys with
 * (docs/identity.md, "Signing keys and rotation"): the one the environment sets (`SIGNING_KEY_SECRET`
 * or its `_FILE`); else, outside production, one made on the first start and kept in
 * `DATA_DIR/signing-key.secret` (mode 0600) — so `npm start`, the identity service and `npm run
 * rotate-keys` on one data directory seal and open with the same secret, never the published
 * development default. It sits beside the database files, not in them: a dump or a backup of the
 * database alone holds no key that can sign. Production must set it (refused at its default).
 */
export function withSigningKeySecret(config: Config, env: NodeJS.ProcessEnv = process.env): Config {
  if (config.NODE_ENV === "production" || env.SIGNING_KEY_SECRET || env.SIGNING_KEY_SECRET_FILE)
    return config;
  mkdirSync(config.DATA_DIR, { recursive: true });
  const path = join(config.DATA_DIR, SIGNING_KEY_SECRET_FILE_NAME);
  try {
    writeFileSync(path, `${randomBytes(32).toString("base64url")}\n`, { flag: "wx", mode: 0o600 });
  } catch (err) {
    // Made by an earlier start: kept as it is, or the keys it sealed would no longer open.
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  return { ...config, SIGNING_KEY_SECRET: readFileSync(path, "utf8").trim() };
}
