import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

/** A certificate for 127.0.0.1 and localhost, its key, and itself as the CA to trust. */
export interface SelfSigned {
  readonly key: string;
  readonly cert: string;
}

/**
 * A throwaway self-signed certificate for an https server on loopback in a test (a Client ID
 * Metadata Document must be served over https, docs/identity.md), made by the system's openssl.
 */
export async function selfSignedLoopbackCertificate(): Promise<SelfSigned> {
  const dir = await mkdtemp(join(tmpdir(), "self-signed-"));
  try {
    await promisify(execFile)("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
    ]);
    return {
      key: await readFile(join(dir, "key.pem"), "utf8"),
      cert: await readFile(join(dir, "cert.pem"), "utf8"),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
