// Imported first by main.ts, so it runs before the modules that need a current Node are evaluated.
import { nodeVersionProblem } from './node-version.js';

const problem = nodeVersionProblem(process.versions.node);
if (problem) {
  process.stderr.write(`edgefleet: ${problem}\n`);
  process.exit(2);
}
