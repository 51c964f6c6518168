/**
 * The environment for a child process a test starts: only what node, npm and tsx need from the
 * shell (PATH, HOME, TMPDIR), then `env`. Anything else the shell exports — SEED_*, *_PORT, HOST,
 * LOG_*, NODE_ENV, secrets — must not change what a test checks; only DATABASE_URL does, and a
 * test that wants it passes it in `env` (docs/configuration.md).
 */
export function childEnv(env: Record<string, string | undefined> = {}): Record<string, string> {
  const clean: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "TMPDIR"] as const) {
    const value = process.env[name];
    if (value) clean[name] = value;
  }
  for (const [name, value] of Object.entries(env)) if (value !== undefined) clean[name] = value;
  return clean;
}
