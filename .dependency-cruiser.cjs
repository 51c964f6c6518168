// The import rules of docs/development.md ("Where things are, and what may import what"), checked by
// `npm run deps` (part of `npm run lint`). `npm run deps:graph` draws the folder graph they keep.

// The kit's modules in layers, lowest first (docs/architecture.md, "The kit"): a module imports only
// modules of layers below its own, never one beside it or above it, so the module graph runs one way.
// Leaves know no other kit module; `auth`'s mechanisms take small options; `telemetry` is the
// process's tracing and metrics; `propagation` owns the call scope (it hands the logger its per-call
// fields, so `log` stays a leaf); `process` is a service's process under the runner (start
// failures, the runner watch), light enough for the runner itself; `server` is the bootstrap; `service` wires a service's parts from
// the product's `Config`. Test files and test helpers (`testing/`) may reach any layer.
const KIT_LAYERS = [
  ["config", "retry", "input", "paging", "contract", "audit", "log", "http"],
  ["auth"],
  ["telemetry"],
  ["propagation"],
  ["client", "db", "model", "revocation"],
  ["process"],
  ["server"],
  ["service"],
];
const KIT_TEST_CODE = ["\\.test\\.ts$", "\\.contract\\.ts$", "/testing/"];
const kitLayerRules = KIT_LAYERS.slice(0, -1).map((layer, i) => ({
  name: `kit-layer-${i}-imports-only-below`,
  severity: "error",
  comment: `The kit's layer ${i} (${layer.join(", ")}) imports only the layers below it: ${
    KIT_LAYERS.slice(0, i)
      .map((l) => l.join("/"))
      .join(" → ") || "no kit module at all"
  }.`,
  from: { path: `^services/kit/(${layer.join("|")})/`, pathNot: KIT_TEST_CODE },
  to: {
    path: `^services/kit/(${KIT_LAYERS.slice(i).flat().join("|")})/`,
    pathNot: "^services/kit/$1/",
  },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...kitLayerRules,
    {
      name: "only-the-wiring-takes-config",
      severity: "error",
      comment:
        "The product's whole Config is read by the service wiring (services/kit/service/) alone: kit mechanisms take small options.",
      from: {
        path: "^services/kit/",
        pathNot: [
          "^services/kit/(config|service)/",
          ...KIT_TEST_CODE,
        ],
      },
      to: { path: "^services/kit/config/config\\.ts$" },
    },
    {
      name: "no-cycles",
      severity: "error",
      comment:
        "A circle of imports, type-only ones included: each module's dependencies run one way, so it can be read and tested alone.",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-service-imports-another",
      severity: "error",
      comment:
        "Services talk over the network (Connect, MCP, OAuth), never by importing each other; what they share lives in services/kit.",
      from: { path: "^services/(agent|chat|identity|mcp-gateway|mcp-server)/" },
      to: { path: "^services/(agent|chat|identity|mcp-gateway|mcp-server|stack|bench)/", pathNot: "^services/$1/" },
    },
    {
      name: "kit-imports-no-service",
      severity: "error",
      comment: "The kit is the mechanisms every service shares: it knows no service, the stack or the benches.",
      from: { path: "^services/kit/" },
      to: { path: "^services/(agent|chat|identity|mcp-gateway|mcp-server|stack|bench)/" },
    },
    {
      name: "kit-through-its-public-face",
      severity: "error",
      comment:
        "Outside the kit, a kit module is reached through its index.ts only (docs/architecture.md, 'The kit'): its other files may change.",
      from: { pathNot: "^services/kit/" },
      to: {
        path: "^services/kit/[^/]+/",
        // The kit's test helpers are for tests (the next rule keeps them out of production code).
        pathNot: ["^services/kit/[^/]+/index\\.ts$", "^services/kit/.*testing/"],
      },
    },
    {
      name: "production-imports-no-test-code",
      severity: "error",
      comment: "Test files and test harnesses never ship in a service.",
      from: { path: "^services/", pathNot: ["\\.test\\.ts$", "\\.contract\\.ts$", "/testing/", "^services/bench/"] },
      to: { path: ["\\.test\\.ts$", "\\.contract\\.ts$", "/testing/"] },
    },
    {
      name: "no-unresolvable",
      severity: "error",
      comment: "An import that resolves to nothing.",
      from: {},
      // k6's modules exist only inside the k6 binary that runs loadtest/.
      to: { couldNotResolve: true, pathNot: "^k6(/|$)" },
    },
  ],
  options: {
    doNotFollow: { path: ["node_modules"] },
    exclude: { path: ["^gen/", "node_modules"] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".mjs", ".cjs", ".json"],
    },
    reporterOptions: {
      archi: { collapsePattern: "^services/(kit/[^/]+|[^/]+)/|^(gen|examples|loadtest|deploy|scripts)/" },
    },
  },
};
