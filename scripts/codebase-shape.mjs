// `npm run shape`: the figures docs/development.md ("The codebase's shape") holds the code to, counted
// from the sources with the TypeScript parser: imports that reach past a kit module's public face,
// imports that climb more than two folders, import cycles, source files with a spec beside them,
// long functions, and what `biome check` reports. Printed as a table; nothing is changed.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TREES = ["services", "examples", "deploy", "loadtest"];
/** Subpath imports (package.json#imports), resolved as Node resolves them. */
const SUBPATHS = Object.entries(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).imports ?? {});

const files = TREES.flatMap((tree) => walk(join(ROOT, tree))).filter(
  (f) => f.endsWith(".ts") && !f.endsWith(".d.ts"),
);
/** Specs, the contract specs every back end runs, and test helpers. */
const isTest = (f) => /\.(test|contract)\.ts$/.test(f) || f.includes("/testing/");
const kitRoot = join(ROOT, "services", "kit");

const graph = new Map();
let kitImportsFromOutside = 0;
let deepKitImports = 0;
let climbing = 0;
let longFunctions60 = 0;
let longFunctions100 = 0;
const longest = [];

for (const file of files) {
  const text = readFileSync(file, "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const edges = new Set();
  for (const specifier of importSpecifiers(source)) {
    if (/^(\.\.\/){3,}/.test(specifier)) climbing++;
    const target = resolveImport(file, specifier);
    if (!target) continue;
    edges.add(target);
    const fromKit = file.startsWith(`${kitRoot}/`);
    if (!fromKit && target.startsWith(`${kitRoot}/`)) {
      kitImportsFromOutside++;
      // The kit's test helpers are reached directly by tests (.dependency-cruiser.cjs).
      if (!target.endsWith("/index.ts") && !target.includes("/testing/")) deepKitImports++;
    }
  }
  graph.set(file, edges);
  if (isTest(file) || !file.startsWith(join(ROOT, "services"))) continue;
  visitFunctions(source, (node) => {
    const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
    const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
    const lines = end - start + 1;
    if (lines > 60) longFunctions60++;
    if (lines > 100) longFunctions100++;
    if (lines > 60) longest.push([lines, `${relative(ROOT, file)}:${start + 1}`]);
  });
}

const cycles = stronglyConnected(graph).filter((c) => c.length > 1);
const sources = files.filter((f) => f.startsWith(join(ROOT, "services")) && !isTest(f));
const withSpec = sources.filter((f) => hasSiblingSpec(f));
const biome = biomeErrors();

const rows = [
  ["imports from outside the kit into it", kitImportsFromOutside],
  ["  of which reach past a module's index.ts (test helpers aside)", deepKitImports],
  ["imports that climb more than two folders (../../../)", climbing],
  ["import cycles (strongly connected groups of files)", cycles.length],
  [
    "source files under services/ with a spec beside them",
    `${withSpec.length} of ${sources.length} (${Math.round((100 * withSpec.length) / sources.length)} %)`,
  ],
  ["functions spanning over 60 / over 100 lines, signature included (services/, tests excluded)", `${longFunctions60} / ${longFunctions100}`],
  ["`biome check` errors", biome],
];
const width = Math.max(...rows.map(([name]) => name.length));
console.log("## The codebase's shape (docs/development.md)");
for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`);
for (const cycle of cycles) console.log(`cycle: ${cycle.map((f) => relative(ROOT, f)).join(" → ")}`);
longest.sort((a, b) => b[0] - a[0]);
if (longest.length > 0) console.log(`longest functions: ${longest.slice(0, 5).map(([n, at]) => `${at} (${n})`).join(", ")}`);

function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === "node_modules" || entry.name.startsWith(".")) return [];
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path) : [path];
  });
}

function importSpecifiers(source) {
  const found = [];
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      found.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The repository file an import names (a `.js` specifier names its `.ts` source); none for packages. */
function resolveImport(from, specifier) {
  let path;
  if (specifier.startsWith(".")) path = resolve(dirname(from), specifier);
  else {
    const match = SUBPATHS.find(([pattern]) => specifier.startsWith(pattern.replace("*", "")));
    if (!match) return undefined;
    const [pattern, target] = match;
    path = join(ROOT, target.replace("*", specifier.slice(pattern.replace("*", "").length)));
  }
  for (const candidate of [path.replace(/\.js$/, ".ts"), path, `${path}.ts`, join(path, "index.ts")]) {
    if (existsSync(candidate) && candidate.endsWith(".ts")) return candidate;
  }
  return undefined;
}

function visitFunctions(source, onFunction) {
  const visit = (node) => {
    if (
      ts.isFunctionDeclaration(node) ||
      ts.isFunctionExpression(node) ||
      ts.isArrowFunction(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isConstructorDeclaration(node) ||
      ts.isGetAccessorDeclaration(node) ||
      ts.isSetAccessorDeclaration(node)
    ) {
      onFunction(node);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}

/** `x.ts` has a spec beside it when its folder holds `x.test.ts` or `x.<aspect>.test.ts`. */
function hasSiblingSpec(file) {
  const base = file.slice(0, -".ts".length);
  const name = base.slice(base.lastIndexOf("/") + 1);
  return readdirSync(dirname(file)).some((f) => f === `${name}.test.ts` || (f.startsWith(`${name}.`) && f.endsWith(".test.ts")));
}

/** Tarjan's algorithm: the groups of files that import each other, directly or not. */
function stronglyConnected(edges) {
  let index = 0;
  const indices = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const groups = [];
  const connect = (v) => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!indices.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), indices.get(w)));
    }
    if (low.get(v) === indices.get(v)) {
      const group = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      groups.push(group);
    }
  };
  for (const v of edges.keys()) if (!indices.has(v)) connect(v);
  return groups;
}

function biomeErrors() {
  const biome = join(ROOT, "node_modules", ".bin", "biome");
  try {
    execFileSync(biome, ["check", ...TREES], { cwd: ROOT, stdio: "pipe", encoding: "utf8" });
    return 0;
  } catch (err) {
    const said = `${err.stdout ?? ""}${err.stderr ?? ""}`;
    const found = /Found (\d+) errors?/.exec(said);
    return found ? Number(found[1]) : `biome check failed: ${said.split("\n")[0]}`;
  }
}
