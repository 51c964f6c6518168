// The module's public face: what the rest of the product uses of it (docs/architecture.md, "The kit").
export { createCleanRpcInput } from "./clean-rpc-input.js";
export { dirtyStringIn, STRICT, type TextRule, textProblem } from "./clean-text.js";
export { exceedsNesting } from "./json-nesting.js";
