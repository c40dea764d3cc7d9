// The unprivileged user jobs run as. Only root can switch users; a service that is not root runs jobs
// as itself (and says so in its start-up log).
import { readFile } from 'node:fs/promises';

export interface JobUser {
  name: string;
  uid: number;
  gid: number;
  /** True when the job runs as a user of its own (the service is root). */
  dedicated: boolean;
}

/** Looks the user up in /etc/passwd (no getpwnam in Node). */
export async function resolveJobUser(name: string): Promise<JobUser> {
  const self = {
    name: process.env.USER ?? String(process.getuid?.() ?? 0),
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    dedicated: false,
  };
  if (self.uid !== 0) return self;
  const passwd = await readFile('/etc/passwd', 'utf8');
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined)
      return { name, uid: Number(uid), gid: Number(gid), dedicated: true };
  }
  throw Object.assign(new Error(`job user ${name} does not exist (run scripts/install-system-deps.sh)`), {
    code: 'JOB_USER_MISSING',
  });
}
