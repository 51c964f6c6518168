// Before any test file runs: the compiled tree of the sources that whole-stack tests and the tools
// run (scripts/compiled-tree.mjs), compiled once here instead of by several workers at once.
import { compiledTree } from "./compiled-tree.mjs";

export default async function setup() {
  await compiledTree();
}
