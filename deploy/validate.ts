/**
 * Validates rendered Kubernetes manifests offline, without a cluster (docs/deployment.md,
 * "Validation"). `.ci/k8s-check` renders each overlay with `kubectl kustomize` and passes the files:
 *
 *   npx tsx deploy/validate.ts development.yaml production.yaml    (or - for standard input)
 *
 * Every object is checked against the Kubernetes API as the kubernetes-models package ships it
 * (the API's OpenAPI schemas, Kubernetes 1.33):
 * - its apiVersion/kind picks the model; an apiVersion/kind the API does not have is an error;
 * - the model's compiled JSON-schema validator: required fields, types, formats, enums;
 * - the model's TypeScript declaration, through the compiler's excess-property check: a field the API
 *   does not know. The JSON schemas allow unknown fields, so without this a misspelt field (say
 *   `readOnlyRootFileSystem`) would pass here and then be refused by the API server's strict field
 *   validation, or worse, silently dropped.
 * Prints one line per object, a line per file and a total; exits 1 when anything is invalid.
 */
import { readFileSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";
import { parseAllDocuments } from "yaml";

/** One rendered manifest stream: a name for the report (the overlay) and its YAML. */
export interface ManifestSource {
  readonly name: string;
  readonly text: string;
}

/** The verdict on one object (or on a document that is not one). */
export interface ObjectResult {
  readonly source: string;
  /** `apiVersion Kind namespace/name`, or the document's position when it has none. */
  readonly id: string;
  readonly problems: readonly string[];
}

interface Candidate {
  readonly source: string;
  readonly id: string;
  readonly value: Record<string, unknown>;
  readonly problems: string[];
  /** The model's module and its declared interface, once apiVersion/kind resolve to one. */
  model?: { readonly module: string; readonly typeName: string };
}

const HERE = dirname(fileURLToPath(import.meta.url));
/** In-memory only; here so that module resolution finds the repository's node_modules. */
const VIRTUAL_FILE = join(HERE, "__rendered_manifests__.ts");

// An API group is a DNS subdomain; a version is v<N>, v<N>alpha<M> or v<N>beta<M>; a kind is CamelCase.
const API_VERSION = /^(?:([a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)\/)?(v[0-9]+(?:(?:alpha|beta)[0-9]+)?)$/;
const KIND = /^[A-Z][A-Za-z0-9]*$/;

/** The kubernetes-models module of a top-level API type, e.g. apps/v1 Deployment → kubernetes-models/apps/v1/Deployment. */
function modelModule(apiVersion: string, kind: string): string | undefined {
  const m = API_VERSION.exec(apiVersion);
  if (!m || !KIND.test(kind)) return undefined;
  const [, group, version] = m;
  return group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
}

interface ModelClass {
  new (data: unknown): { validate(): void };
  readonly apiVersion?: unknown;
  readonly kind?: unknown;
}

interface SchemaError {
  readonly instancePath?: string;
  readonly message?: string;
}

/** Loads the model class of `apiVersion`/`kind`, or undefined when the API has no such type. */
async function loadModel(module: string, apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(module)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const model = loaded[kind] as ModelClass | undefined;
  // Only a top-level type carries its own apiVersion and kind (v1/Probe, say, is a part of a Pod).
  if (typeof model !== "function" || model.apiVersion !== apiVersion || model.kind !== kind) return undefined;
  return model;
}

function schemaProblems(model: ModelClass, value: Record<string, unknown>): string[] {
  try {
    new model(value).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: SchemaError[] }).errors;
    if (!Array.isArray(errors) || errors.length === 0) return [`schema: ${(err as Error).message}`];
    return errors.map((e) => `schema: ${e.instancePath || "/"} ${e.message ?? "is invalid"}`);
  }
}

/**
 * Type-checks every resolved object against its model's declared interface in one in-memory
 * program, and adds the compiler's errors (unknown fields above all; the compiler names the first
 * one of an object) to the object's problems.
 */
function addDeclarationProblems(candidates: readonly Candidate[]): void {
  const typed = candidates.filter((c) => c.model !== undefined);
  if (typed.length === 0) return;
  let text = "";
  typed.forEach((c, i) => {
    text += `import type { ${c.model?.typeName} as T${i} } from ${JSON.stringify(c.model?.module)};\n`;
  });
  const spans: { start: number; end: number; candidate: Candidate }[] = [];
  typed.forEach((c, i) => {
    const start = text.length;
    text += `export const o${i}: T${i} = ${JSON.stringify(c.value)};\n`;
    spans.push({ start, end: text.length, candidate: c });
  });

  // Not strict: a YAML null means "unset", as the API server reads it.
  const options: ts.CompilerOptions = {
    strict: false,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    lib: ["lib.es2022.d.ts"],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
  };
  const host = ts.createCompilerHost(options, true);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) =>
    fileName === VIRTUAL_FILE
      ? ts.createSourceFile(fileName, text, languageVersion, true)
      : getSourceFile(fileName, languageVersion, onError, shouldCreate);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.fileExists = (fileName) => fileName === VIRTUAL_FILE || fileExists(fileName);
  host.readFile = (fileName) => (fileName === VIRTUAL_FILE ? text : readFile(fileName));

  const program = ts.createProgram([VIRTUAL_FILE], options, host);
  const file = program.getSourceFile(VIRTUAL_FILE);
  if (!file) throw new Error("the TypeScript compiler did not load the rendered manifests");
  const diagnostics = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
  for (const d of diagnostics) {
    if (d.category !== ts.DiagnosticCategory.Error) continue;
    // The objects are written as JSON, so the compiler quotes property names twice: '"name"'.
    const message = ts
      .flattenDiagnosticMessageText(d.messageText, " ")
      .replace(/'"([^"']*)"'/g, "'$1'")
      .replace(/\.$/, "");
    const span = spans.find((s) => d.start !== undefined && d.start >= s.start && d.start < s.end);
    // An error outside every object (its model's declaration failed to load) fails them all.
    const owners = span ? [span.candidate] : typed;
    for (const owner of owners) owner.problems.push(`type: ${message}`);
  }
}

/**
 * The object as the API server decodes it: a Secret's `data` values are base64 that may be broken
 * into lines (`kubectl kustomize` wraps them at 70 characters), and a decoder ignores line breaks
 * (RFC 2045 §6.8); the schema's base64 pattern does not, so they are removed before checking.
 */
function asDecoded(value: Record<string, unknown>): Record<string, unknown> {
  const data = value.data;
  if (value.apiVersion !== "v1" || value.kind !== "Secret" || typeof data !== "object" || data === null)
    return value;
  const joined = Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, typeof v === "string" ? v.replace(/[\r\n]/g, "") : v]),
  );
  return { ...value, data: joined };
}

function objectId(value: Record<string, unknown>): string {
  const metadata = (value.metadata ?? {}) as { name?: unknown; namespace?: unknown };
  const name = typeof metadata.name === "string" ? metadata.name : "(no name)";
  const where = typeof metadata.namespace === "string" ? `${metadata.namespace}/${name}` : name;
  return `${String(value.apiVersion)} ${String(value.kind)} ${where}`;
}

/** Validates every object of every source; the results are in the sources' order. */
export async function validateSources(sources: readonly ManifestSource[]): Promise<ObjectResult[]> {
  const candidates: Candidate[] = [];
  for (const source of sources) {
    parseAllDocuments(source.text).forEach((doc, i) => {
      const position = `document ${i + 1}`;
      if (doc.errors.length > 0) {
        const problems = doc.errors.map((e) => `yaml: ${e.message.split("\n")[0]}`);
        candidates.push({ source: source.name, id: position, value: {}, problems });
        return;
      }
      const value: unknown = doc.toJS();
      if (value === null || value === undefined) return; // an empty document
      if (typeof value !== "object" || Array.isArray(value)) {
        candidates.push({ source: source.name, id: position, value: {}, problems: ["not an object"] });
        return;
      }
      const object = asDecoded(value as Record<string, unknown>);
      candidates.push({ source: source.name, id: objectId(object), value: object, problems: [] });
    });
  }

  for (const c of candidates) {
    if (c.problems.length > 0) continue;
    const { apiVersion, kind } = c.value;
    if (typeof apiVersion !== "string" || typeof kind !== "string") {
      c.problems.push("no apiVersion or kind");
      continue;
    }
    const module = modelModule(apiVersion, kind);
    const model = module ? await loadModel(module, apiVersion, kind) : undefined;
    if (!module || !model) {
      c.problems.push(`unknown kind: the Kubernetes API has no ${kind} in ${apiVersion}`);
      continue;
    }
    c.model = { module, typeName: `I${kind}` };
    c.problems.push(...schemaProblems(model, c.value));
  }
  addDeclarationProblems(candidates);
  return candidates.map(({ source, id, problems }) => ({ source, id, problems }));
}

/** The report: one line per object, one per source, then the total. */
export function report(sources: readonly ManifestSource[], results: readonly ObjectResult[]): string[] {
  const lines: string[] = [];
  for (const source of sources) {
    const own = results.filter((r) => r.source === source.name);
    for (const r of own) {
      lines.push(
        r.problems.length === 0
          ? `${source.name}: ok ${r.id}`
          : `${source.name}: INVALID ${r.id}: ${r.problems.join("; ")}`,
      );
    }
    const bad = own.filter((r) => r.problems.length > 0).length;
    lines.push(`${source.name}: ${own.length} objects, ${own.length - bad} valid, ${bad} invalid`);
  }
  const bad = results.filter((r) => r.problems.length > 0).length;
  lines.push(
    `total: ${results.length} objects in ${sources.length} file(s), ${results.length - bad} valid, ${bad} invalid`,
  );
  return lines;
}

async function main(args: readonly string[]): Promise<number> {
  if (args.length === 0) {
    process.stderr.write("usage: npx tsx deploy/validate.ts RENDERED.yaml… (- for standard input)\n");
    return 2;
  }
  const sources: ManifestSource[] = [];
  for (const arg of args) {
    try {
      const text = readFileSync(arg === "-" ? 0 : arg, "utf8");
      sources.push({ name: arg === "-" ? "stdin" : basename(arg, extname(arg)), text });
    } catch (err) {
      process.stderr.write(`cannot read ${arg}: ${(err as Error).message}\n`);
      return 2;
    }
  }
  const results = await validateSources(sources);
  for (const line of report(sources, results)) process.stdout.write(`${line}\n`);
  if (results.length === 0) {
    process.stderr.write("no objects: nothing was validated\n");
    return 1;
  }
  return results.some((r) => r.problems.length > 0) ? 1 : 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
