// The benchmark's job users: system users of their own, created as scripts/install-system-deps.sh
// creates edgefleet-job when missing. The executor refuses a job user whose uid runs processes that
// are not its own (another node's or a test's jobs on a shared machine), so a benchmark node never
// shares one.
import { execFileSync } from 'node:child_process';

export function ensureSystemUser(name: string, say: (line: string) => void): void {
  try {
    execFileSync('getent', ['passwd', name], { stdio: 'ignore' });
    return;
  } catch {
    // missing: create it
  }
  say(`creating the system user ${name} for the benchmark's jobs`);
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}
