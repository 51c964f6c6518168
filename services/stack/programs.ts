/**
 * Every program of a build by name, for the one command that starts any of them (`run.ts`, the
 * container image's entry point) and the image's health check (`healthcheck.ts`): the five services,
 * `stack` (all five under the runner, as `npm start`) and the command-line tools.
 */
export const PROGRAMS = {
  identity: "../identity/main",
  chat: "../chat/main",
  agent: "../agent/main",
  "mcp-gateway": "../mcp-gateway/main",
  "mcp-server": "../mcp-server/main",
  stack: "./main",
  login: "../identity/login-cli/main",
  "rotate-keys": "../identity/keys/rotate-keys",
  audit: "../mcp-server/audit-cli",
} as const;

export type ProgramName = keyof typeof PROGRAMS;

export const PROGRAM_NAMES = Object.keys(PROGRAMS) as ProgramName[];

/**
 * The program an argument names: its name, or the path of a service's main module
 * (`services/identity/main.ts`, how docker-compose.yml named the services when the image ran the
 * sources under tsx; `.js` too).
 */
export function programNamed(arg: string | undefined): ProgramName | undefined {
  if (arg === undefined) return undefined;
  const name = /^(?:\.\/)?services\/([a-z-]+)\/main\.[jt]s$/.exec(arg)?.[1] ?? arg;
  return Object.hasOwn(PROGRAMS, name) ? (name as ProgramName) : undefined;
}

/** The program's main module beside this one: TypeScript in the sources, JavaScript in a build. */
export function programUrl(name: ProgramName): URL {
  const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  return new URL(`${PROGRAMS[name]}${extension}`, import.meta.url);
}
