import { exitWithRunner } from "./runner-watch.js";

// Preloaded (`node --import`) into every service the stack runner starts, before the service's own
// modules load: a service whose runner dies at any moment of its start-up exits at once instead of
// living on as an orphan holding its port and data-dir lock (runner-watch.ts).
exitWithRunner();
