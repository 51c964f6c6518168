import { firstRequest, loadCorpus } from "#services/agent/planner/corpus/corpus.js";
import { plannerSkill } from "#services/agent/planner/planner-skill.js";
import { formatMs, printRow, summarize } from "./stats.js";

/**
 * The embedded planner plans a turn in at most 1 ms. Times the first turn (reading the
 * message, the thread and the run's tools into calls or a question) of every corpus request,
 * `iterations` samples in all, after warm-up passes (the JIT settles; a cold first call is not a turn).
 */
export async function benchPlanner(iterations: number): Promise<void> {
  const requests = loadCorpus().map((entry) => firstRequest(entry));
  for (let pass = 0; pass < 5; pass++) for (const request of requests) plannerSkill.answer(request);
  const samples: number[] = [];
  for (let i = 0; i < Math.max(iterations, requests.length); i++) {
    const request = requests[i % requests.length];
    if (!request) continue;
    const start = performance.now();
    plannerSkill.answer(request);
    samples.push(performance.now() - start);
  }
  const s = summarize(samples);
  // On a shared machine a sample can include time the process was not running; the median of
  // repeated runs of each request separates the planner's own cost from that.
  const perRequest = requests.map((request) => {
    const runs: number[] = [];
    for (let i = 0; i < 9; i++) {
      const start = performance.now();
      plannerSkill.answer(request);
      runs.push(performance.now() - start);
    }
    return summarize(runs).p50;
  });
  console.log(`\nplanner: one turn planned, over the ${requests.length} corpus requests`);
  printRow("plan a turn (embedded planner)", s);
  printRow("  each request, median of 9 runs", summarize(perRequest));
  console.log(
    `mean ${formatMs(s.mean)} per plan; slowest request (its median) ${formatMs(Math.max(...perRequest))}; target ≤ 1 ms`,
  );
}
