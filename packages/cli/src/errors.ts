// CLI outcomes as values with exit codes scripts can rely on.
export const EXIT = {
  ok: 0,
  /** --wait: the job ended in a state other than SUCCEEDED. */
  jobNotSucceeded: 1,
  usage: 2,
  notFound: 3,
  unreachable: 4,
  rejected: 5,
  failure: 6,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export const usageError = (m: string) => new CliError(m, EXIT.usage);
