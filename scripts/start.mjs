// `npm start` (`node scripts/start.mjs`): the stack runner (services/stack/main.ts) and every service
// it starts run as JavaScript compiled from the sources on demand (scripts/compiled-tree.mjs), never
// TypeScript compiled inside each process at run time (docs/development.md, "What `npm start` does
// and prints"). The command-line tools run the same way (`node scripts/start.mjs <program>
// [arguments…]`: `npm run login`, `npm run audit`, `npm run rotate-keys`), through the tree's one
// entry point, services/stack/run.js.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { compiledTree } from "./compiled-tree.mjs";

/** The program to run (services/stack/programs.ts); none is the stack. */
const program = process.argv[2] ?? "stack";

let tree;
try {
  tree = await compiledTree(({ files, ms, id }) => {
    // Said by `npm start` only: a tool's output is its own (scripts read it).
    if (program === "stack") console.error(`npm start: compiled ${files} files in ${ms} ms (.cache/start/${id})`);
  });
} catch (err) {
  // One line with the cause and the fix, as every start-up failure (docs/architecture.md, "Processes").
  // esbuild names the file, line and error; anything else (a cache it may not write) its message.
  const first = err?.errors?.[0];
  const cause = first
    ? `${first.location?.file}:${first.location?.line}: ${first.text}`
    : err instanceof Error
      ? err.message.split("\n")[0]
      : String(err);
  console.error(
    `${program === "stack" ? "npm start" : program}: the sources could not be compiled into .cache/start/ (${cause}): fix the file named, or make .cache/ writable`,
  );
  process.exit(2);
}

// run.js sees the arguments as the tree's entry point is given them: `<program> [arguments…]`.
const entry = join(tree, "services", "stack", "run.js");
process.argv.splice(1, 1, entry);
await import(pathToFileURL(entry).href);
