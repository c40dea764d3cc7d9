// Start-up checks of the device, as pure functions of what the adapters found: each returns the one
// line the operator sees when the executor must not start (what is wrong, and the fix), or null.

export interface ProcessSeen {
  pid: number;
  command: string;
}

/** Processes listed in the refusal line at most (the rest are counted). */
const MAX_LISTED = 5;

/**
 * The job user's uid must be the executor's alone: job processes are stopped by uid where cgroups
 * cannot prove membership, so a uid shared with another service or a container (uids are mapped one
 * to one) would have that service's processes killed. `seen`: live processes of the uid at start,
 * after the previous run's leftovers were killed (so none of them is ours).
 */
export function jobUserInUse(
  user: { name: string; uid: number },
  seen: readonly ProcessSeen[],
): string | null {
  if (seen.length === 0) return null;
  const listed = seen
    .slice(0, MAX_LISTED)
    .map((p) => `${p.pid} (${p.command})`)
    .join(', ');
  const more = seen.length > MAX_LISTED ? ` and ${seen.length - MAX_LISTED} more` : '';
  return (
    `job user ${user.name} (uid ${user.uid}) is used by processes that are not this executor's: ` +
    `${listed}${more}; give jobs a user of their own (EDGEFLEET_JOB_USER) whose uid nothing else uses`
  );
}
