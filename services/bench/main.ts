import { benchAuthOverhead } from "./auth-overhead.bench.js";
import { benchGatewayOverhead } from "./gateway-overhead.bench.js";
import { benchMcpAuthOverhead } from "./mcp-auth-overhead.bench.js";

/** `npm run bench`: prints the figures the product is held to (brief §11). */
const iterations = Number(process.env.BENCH_ITERATIONS ?? 2000);
console.log(`support-ext benchmarks (node ${process.version}, ${iterations} iterations per arm)`);
await benchAuthOverhead(iterations);
await benchMcpAuthOverhead(iterations);
await benchGatewayOverhead(iterations);
process.exit(0);
