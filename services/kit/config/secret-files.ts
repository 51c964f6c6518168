import { readFileSync } from "node:fs";

/**
 * Secrets may be given as files (docs/architecture.md, "Secrets from files"): `<NAME>_FILE` names a
 * file whose trimmed content is the value of `<NAME>`, as Docker and Kubernetes secrets are mounted,
 * so the value never sits in the environment where `docker inspect`, `/proc/<pid>/environ` and
 * crash reports show it. One implementation, applied by `parseConfig` before validation.
 */
export const SECRET_VARIABLES = [
  "DATABASE_URL",
  "GATEWAY_CLIENT_SECRET",
  "AGENT_CLIENT_SECRET",
  "MCP_CLIENT_SECRET",
  "CHAT_CLIENT_SECRET",
  "SEED_ADMIN_PASSWORD",
  "SEED_AGENT_PASSWORD",
  "SEED_VIEWER_PASSWORD",
  "SIGNING_KEY_SECRET",
  "SIGNING_KEY_SECRET_PREVIOUS",
  "LLM_API_KEY",
] as const;

export type SecretVariable = (typeof SECRET_VARIABLES)[number];

/**
 * `env` with every `<NAME>_FILE` of a secret replaced by `<NAME>` = the file's trimmed content.
 * Returns the problems instead of throwing, one short sentence each naming the variable, the cause
 * and the fix, for the caller's one-line start-up error. Never puts a file's content in a problem.
 */
export function readSecretFiles(
  env: Record<string, string | undefined>,
  read: (path: string) => string = (path) => readFileSync(path, "utf8"),
): { env: Record<string, string | undefined>; problems: string[] } {
  const out: Record<string, string | undefined> = { ...env };
  const problems: string[] = [];
  for (const name of SECRET_VARIABLES) {
    const fileVar = `${name}_FILE`;
    const path = env[fileVar];
    delete out[fileVar];
    if (path === undefined || path === "") continue;
    if (env[name] !== undefined && env[name] !== "") {
      problems.push(
        `both ${name} and ${fileVar} are set: unset one (${fileVar} names a file holding the value)`,
      );
      continue;
    }
    let content: string;
    try {
      content = read(path).trim();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
      problems.push(`${fileVar}: cannot read ${path} (${code}): give a readable file holding the value`);
      continue;
    }
    if (content === "") {
      problems.push(`${fileVar}: ${path} is empty: put the value in the file`);
      continue;
    }
    out[name] = content;
  }
  return { env: out, problems };
}

/**
 * `env` without the secrets in `names` (each as `<NAME>` and `<NAME>_FILE`): what a child process
 * that has no use for them is given, so they are not in its `/proc/<pid>/environ`.
 */
export function withoutSecrets(
  env: NodeJS.ProcessEnv,
  names: readonly SecretVariable[] = SECRET_VARIABLES,
): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of names) {
    delete out[name];
    delete out[`${name}_FILE`];
  }
  return out;
}
