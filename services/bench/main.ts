import { benchAuthOverhead } from "./auth-overhead.bench.js";
import { benchChain } from "./chain.bench.js";
import { benchFootprint } from "./footprint.bench.js";
import { benchGatewayOverhead } from "./gateway-overhead.bench.js";
import { benchMcp } from "./mcp.bench.js";
import { benchMcpAuthOverhead } from "./mcp-auth-overhead.bench.js";
import { benchMcpWrites } from "./mcp-writes.bench.js";
import { benchPlanner } from "./planner.bench.js";
import { benchRevocation } from "./revocation.bench.js";
import { benchServiceCredential } from "./service-credential.bench.js";

/**
 * `npm run bench [-- name …]`: prints the figures the product is held to (docs/performance.md).
 * With names, runs only those benches (`auth`, `mcp-auth`, `mcp`, `mcp-writes`, `service-credential`, `gateway`, `chain`, `revocation`, `planner`,
 * `footprint`).
 */
const BENCHES: Record<string, (iterations: number) => Promise<void>> = {
  auth: benchAuthOverhead,
  "mcp-auth": benchMcpAuthOverhead,
  mcp: benchMcp,
  "mcp-writes": () => benchMcpWrites(),
  "service-credential": benchServiceCredential,
  gateway: benchGatewayOverhead,
  chain: () => benchChain(),
  revocation: () => benchRevocation(),
  planner: benchPlanner,
  footprint: () => benchFootprint(),
};
const iterations = Number(process.env.BENCH_ITERATIONS ?? 2000);
const chosen = process.argv.slice(2);
const unknown = chosen.filter((name) => !(name in BENCHES));
if (unknown.length > 0) {
  console.error(`unknown bench: ${unknown.join(", ")} (known: ${Object.keys(BENCHES).join(", ")})`);
  process.exit(2);
}
console.log(`support-ext benchmarks (node ${process.version}, ${iterations} iterations per arm)`);
for (const [name, run] of Object.entries(BENCHES)) {
  if (chosen.length === 0 || chosen.includes(name)) await run(iterations);
}
process.exit(0);
