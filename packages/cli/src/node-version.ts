// The Node.js releases edgefleet runs on: 24 LTS and newer (the images' node:24-bookworm-slim, the
// version .node-version pins for CI). Node 20 reached end of life on 2026-04-30 and the AWS SDK's
// releases after January 2027 drop it, so an older Node gets one line saying what to install rather
// than failures deep in a dependency.
export const MIN_NODE_MAJOR = 24;

/** Why `version` (process.versions.node) cannot run edgefleet, or undefined when it can. */
export function nodeVersionProblem(version: string, min = MIN_NODE_MAJOR): string | undefined {
  const major = Number(version.split('.')[0]);
  if (Number.isInteger(major) && major >= min) return undefined;
  return `Node.js >= ${min} is required, found ${version} (bash scripts/ensure-node.sh fetches Node ${min} into .node/)`;
}
