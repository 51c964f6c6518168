import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type CheckpointBody, checkpointText, type SignedCheckpoint } from "#kit/audit/index.js";
import type { Config } from "#kit/config/index.js";

/** Signs checkpoints of the audit chain's head as this MCP server. */
export interface CheckpointSigner {
  /** The public key, SubjectPublicKeyInfo DER, base64url (sent with every checkpoint). */
  readonly publicKey: string;
  sign(body: CheckpointBody): SignedCheckpoint;
}

/**
 * Where the checkpoint key lives: AUDIT_CHECKPOINT_KEY_FILE, or next to (never inside) the embedded
 * database. It is a file, not a row, on purpose: whoever can rewrite the audit table must not be
 * able to sign a head for it (docs/mcp-server.md, "Witnessed checkpoints").
 */
export function checkpointKeyPath(config: Pick<Config, "DATA_DIR" | "AUDIT_CHECKPOINT_KEY_FILE">): string {
  return config.AUDIT_CHECKPOINT_KEY_FILE ?? join(config.DATA_DIR, "mcp-server-checkpoint-key.pem");
}

const publicOf = (key: KeyObject) =>
  createPublicKey(key).export({ format: "der", type: "spki" }).toString("base64url");

function signerOf(privateKey: KeyObject): CheckpointSigner {
  const publicKey = publicOf(privateKey);
  return {
    publicKey,
    sign: (body) => ({
      ...body,
      signerKey: publicKey,
      signature: sign(null, checkpointText(body), privateKey).toString("base64url"),
    }),
  };
}

/** The server's key (Ed25519, PKCS #8 PEM, mode 0600), created on first use. */
export function loadOrCreateCheckpointKey(path: string): CheckpointSigner & { readonly created: boolean } {
  if (existsSync(path)) return { ...signerOf(createPrivateKey(readFileSync(path))), created: false };
  const { privateKey } = generateKeyPairSync("ed25519");
  mkdirSync(dirname(path), { recursive: true });
  // `wx`: two processes starting at once must not overwrite each other's key.
  writeFileSync(path, privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600, flag: "wx" });
  return { ...signerOf(privateKey), created: true };
}
