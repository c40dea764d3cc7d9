// The job's environment: an allowlist, never the service's own environment. Device credentials (AWS_*),
// the Redis password and service secrets (EDGEFLEET_*) can never pass, even if an operator lists them
// for passthrough.
import { join } from 'node:path';

/** Names never passed through from the service's environment, whatever the configuration says. */
const NEVER_PASS = /^(AWS_|EDGEFLEET_|REDIS)|PASSWORD|SECRET|TOKEN|CREDENTIAL|_KEY$|^KEY$/i;

export interface JobEnvInput {
  jobId: string;
  jobDir: string;
  outputDir: string;
  /** The job's temp folder (inside the job folder). */
  tmpDir: string;
  venvDir: string;
  user: string;
  /** The service's environment (only `passthrough` names are read). */
  serviceEnv: Record<string, string | undefined>;
  passthrough: readonly string[];
  /** The job message's env (names already validated by contracts' EnvName). */
  jobEnv: Record<string, string>;
}

export function buildJobEnv(i: JobEnvInput): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of i.passthrough) {
    const v = i.serviceEnv[name];
    if (v !== undefined && !NEVER_PASS.test(name)) out[name] = v;
  }
  Object.assign(out, i.jobEnv);
  // Set last: the job cannot override these.
  out.PATH = `${join(i.venvDir, 'bin')}:/usr/local/bin:/usr/bin:/bin`;
  out.HOME = i.jobDir;
  out.USER = i.user;
  out.LOGNAME = i.user;
  out.VIRTUAL_ENV = i.venvDir;
  out.PYTHONUNBUFFERED = '1';
  out.EDGEFLEET_JOB_ID = i.jobId;
  out.EDGEFLEET_OUTPUT_DIR = i.outputDir;
  // Temp files count against the job's quota and are deleted with its folder, never in /tmp.
  out.TMPDIR = i.tmpDir;
  out.TMP = i.tmpDir;
  out.TEMP = i.tmpDir;
  return out;
}
