// Retention of the job index: members created before `now − retention` whose record has expired are
// removed (records expire by the transition script's TTL once terminal).

/** Score (ms since the epoch) below which index members are candidates for removal. */
export const retentionCutoff = (nowMs: number, retentionSeconds: number): number =>
  nowMs - retentionSeconds * 1000;
