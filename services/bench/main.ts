import { benchAuthOverhead } from "./auth-overhead.bench.js";

/** `npm run bench`: prints the figures the product is held to (brief §11). */
const iterations = Number(process.env.BENCH_ITERATIONS ?? 5000);
console.log(`support-ext benchmarks (node ${process.version}, ${iterations} iterations per arm)`);
await benchAuthOverhead(iterations);
process.exit(0);
