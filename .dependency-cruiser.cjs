// The import rules of docs/development.md ("Where things are, and what may import what"), checked by
// `npm run deps` (part of `npm run lint`). `npm run deps:graph` draws the folder graph they keep.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
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
