import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Chromium's extension ID for a manifest `key` (the base64 DER public key): the first 128 bits of
 * its SHA-256, each hex digit written as a letter a–p. A fixed key keeps the ID, and so the
 * `chrome-extension://<id>` origin that chat's CORS_ORIGINS must list, the same on every machine.
 */
export function extensionIdFromKey(publicKeyBase64: string): string {
  const hex = createHash("sha256").update(Buffer.from(publicKeyBase64, "base64")).digest("hex").slice(0, 32);
  return [...hex].map((d) => String.fromCharCode(97 + Number.parseInt(d, 16))).join("");
}

/** The ID of the extension whose manifest is in `dir`. */
export function extensionIdOf(dir: string): string {
  const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { key?: unknown };
  if (typeof manifest.key !== "string")
    throw new Error(`${dir}/manifest.json has no key: its ID would change with its path`);
  return extensionIdFromKey(manifest.key);
}
