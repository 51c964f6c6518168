import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * Where a whole-stack test keeps its data: the embedded default (`npm start`'s own PostgreSQL in
 * DATA_DIR, a schema per service; docs/architecture.md, "Data"), and — when DATABASE_URL names a PostgreSQL server, as in CI — a database of its own on that
 * server, created for the test and dropped after it, so every service's schema starts empty.
 */
export interface StackBackend {
  readonly name: "embedded" | "postgres";
  /** The stack's DATABASE_URL (undefined: the embedded default). */
  prepare(): Promise<string | undefined>;
  dispose(): Promise<void>;
}

const embedded: StackBackend = {
  name: "embedded",
  prepare: async () => undefined,
  dispose: async () => undefined,
};

function postgres(serverUrl: string): StackBackend {
  const database = `stack_test_${randomBytes(6).toString("hex")}`;
  const admin = () => new pg.Client({ connectionString: serverUrl });
  return {
    name: "postgres",
    async prepare() {
      const client = admin();
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${database}`);
      } finally {
        await client.end();
      }
      const url = new URL(serverUrl);
      url.pathname = `/${database}`;
      return url.toString();
    },
    async dispose() {
      const client = admin();
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** The embedded default always; a fresh database on DATABASE_URL's server too when it is set. */
export function stackBackends(): StackBackend[] {
  const serverUrl = process.env.DATABASE_URL;
  return serverUrl ? [embedded, postgres(serverUrl)] : [embedded];
}
