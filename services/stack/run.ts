import { PROGRAM_NAMES, programNamed, programUrl } from "./programs.js";

/**
 * `node services/stack/run.js <program> [arguments…]`: one command for every program of the compiled
 * build, the container image's entry point (docs/development.md, "Production build"). `<program>` is
 * a service (identity, chat, agent, mcp-gateway, mcp-server), `stack` (all five, the default) or a
 * tool (login, rotate-keys, audit); the program runs in this process and sees its own arguments only.
 */
const arg = process.argv[2] ?? "stack";
const name = programNamed(arg);
if (name === undefined) {
  process.stderr.write(`unknown program "${arg}": one of ${PROGRAM_NAMES.join(", ")}\n`);
  process.exit(64);
}
process.argv.splice(2, 1);
await import(programUrl(name).href);
