// The module's public face: a service process under the stack's runner (docs/architecture.md, "Processes").

export {
  type IdleHeapRelease,
  type IdleHeapReleaseOptions,
  releaseHeapWhenIdle,
} from "./idle-heap-release.js";
export { STOP_ON_SIGNALS_READY } from "./runner-watch.js";
export { CannotStartError, EXIT_CANNOT_START, logStartFailure, startOrExit } from "./start-failure.js";
