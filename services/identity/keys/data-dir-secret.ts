import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { Config } from "#kit/config/index.js";
import { CannotStartError } from "#kit/process/index.js";

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
  if (!existsSync(path)) createSecretFile(path);
  const secret = readFileSync(path, "utf8").trim();
  if (Buffer.from(secret, "base64url").length !== SECRET_BYTES) {
    throw new CannotStartError(
      `identity cannot start: ${path} does not hold a signing-key secret (${SECRET_BYTES} random bytes, base64url). Restore it from where DATA_DIR is backed up, or set SIGNING_KEY_SECRET to the secret the keys were sealed with.`,
    );
  }
  return { ...config, SIGNING_KEY_SECRET: secret };
}

const SECRET_BYTES = 32;

/**
 * Writes the secret whole or not at all: into a file of its own first, flushed, then linked into
 * place — so a process starting beside this one (the service and `rotate-keys`) never reads a
 * half-written file, and when two make one at once the first link wins and both read it.
 */
function createSecretFile(path: string): void {
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`;
  const fd = openSync(temporary, "wx", 0o600);
  try {
    writeSync(fd, `${randomBytes(SECRET_BYTES).toString("base64url")}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, path);
  } catch (err) {
    // Made meanwhile by another process: kept as it is, or the keys it sealed would no longer open.
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    unlinkSync(temporary);
  }
}
