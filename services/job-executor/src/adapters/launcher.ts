// The launcher: the service spawns `/usr/bin/python3 -I -S -c LAUNCHER` as itself (root) and writes the
// launch spec (JSON) to its stdin. The launcher writes its own pid into the job's cgroups, sets
// RLIMIT_NPROC (and RLIMIT_AS in rlimit mode), replaces its supplementary groups with the spec's list
// (empty today), setgid/setuid to the job user, and execs the venv's python. So the limits and the
// cgroup hold from the first instruction of user code, with no race between spawn and join. (Node
// cannot set rlimits or cgroups for a child itself.)
//
// Environment, by design: the root part of the launch runs with ROOT_ENV, a fixed minimal environment
// the job cannot touch; the job's environment travels in the spec (stdin, so it is never in a
// world-readable /proc/<pid>/cmdline) and is applied only by the final execve, after setgroups/
// setgid/setuid. So nothing a job names in `env` is read while the process is root:
//   - glibc (GCONV_PATH, LOCPATH, LC_*/LANG, TZ/TZDIR, HOSTALIASES, RES_OPTIONS, LOCALDOMAIN, NLSPATH,
//     MALLOC_*/GLIBC_TUNABLES) and the dynamic loader (LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, LD_*):
//     the root python starts with ROOT_ENV only, and LC_ALL=C keeps it on glibc's built-in C locale
//     (no locale file, no gconv module is loaded: glibc's wcsmbs/wcsmbsload.c uses the static C
//     converters for it);
//   - Python (PYTHON*): -I ignores every PYTHON* variable and the user site, -S skips site.py.
// The exec'd program reads them all, as the job user, inside its cgroup: that is the job's own
// business. The install phase's steps (env/build-step.ts: venv, pip) start through this launcher
// too, inside the job's install cgroup, with pip-env.ts's allowlisted environment (never the job's
// `env`); started without it (no containment asked), libuv likewise does setgroups/setgid/setuid in
// the child and applies the environment only in execve (uv_spawn's uv__process_child_init).
import { type ChildProcess, spawn } from 'node:child_process';

const LAUNCHER = `
import json, os, resource, sys
s = json.loads(sys.stdin.buffer.read())
fd = os.open("/dev/null", os.O_RDONLY)
os.dup2(fd, 0)
os.close(fd)
for p in s["procs"]:
    with open(p, "w") as f:
        f.write(str(os.getpid()))
if s.get("nproc"):
    resource.setrlimit(resource.RLIMIT_NPROC, (s["nproc"], s["nproc"]))
if s.get("as"):
    resource.setrlimit(resource.RLIMIT_AS, (s["as"], s["as"]))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
u = s.get("user")
if u is not None:
    os.setgroups(u.get("groups") or [])
    os.setgid(u["gid"])
    os.setuid(u["uid"])
os.umask(0o022)
os.execve(s["argv"][0], s["argv"], s["env"])
`;

/**
 * The whole environment of the root part of the launch (see the header): nothing from the job and
 * nothing from the service. LC_ALL=C: glibc's built-in locale (no locale or gconv file is opened).
 */
const ROOT_ENV: Readonly<Record<string, string>> = Object.freeze({
  PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
  LC_ALL: 'C',
});

export interface LaunchSpec {
  /** `cgroup.procs` files the launcher writes its own pid into before anything else. */
  procs: readonly string[];
  /** RLIMIT_NPROC (processes + threads of the user), or null/0 for none. */
  nproc?: number | null;
  /** RLIMIT_AS in bytes, or null for none. */
  as?: number | null;
  /** The user to become; `groups` are its supplementary groups (default none). */
  user?: { uid: number; gid: number; groups?: readonly number[] };
  /** Program and arguments; argv[0] is an absolute path. */
  argv: readonly string[];
  /** The program's whole environment, applied by execve only. */
  env: Record<string, string>;
}

/**
 * Spawns the launcher (own session and process group, stdout/stderr piped) and hands it `spec` on
 * stdin, so the spec (the job's environment) never shows in a command line.
 */
export function spawnLauncher(python: string, spec: LaunchSpec, cwd: string): ChildProcess {
  const child = spawn(python, ['-I', '-S', '-c', LAUNCHER], {
    cwd,
    env: { ...ROOT_ENV },
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // A launcher that dies before reading its spec closes the pipe: its exit is reported by the caller.
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(JSON.stringify(spec));
  return child;
}
