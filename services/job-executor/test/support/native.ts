// Shared objects a hostile job ships (a gconv module, an LD_PRELOAD library), compiled with the
// system C compiler. Each records the effective uid of every process that loads it, one line per
// load, in the file named by its RECORD variable (a file every user may append to).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const HAVE_CC = (() => {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const RECORDER = `
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
__attribute__((constructor)) static void record(void) {
  const char *f = getenv("RECORD");
  if (!f) return;
  FILE *o = fopen(f, "a");
  if (o) { fprintf(o, "%d\\n", (int)geteuid()); fclose(o); }
}
/* gconv entry points: the module declines every conversion, so glibc falls back to its own. */
int gconv(void) { return 0; }
int gconv_init(void *step) { (void)step; return -1; }
void gconv_end(void *step) { (void)step; }
`;

/** Compiles the uid recorder; returns the .so's bytes. */
export function uidRecorderSo(): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'edgefleet-so-'));
  writeFileSync(join(dir, 'r.c'), RECORDER);
  execFileSync('cc', ['-shared', '-fPIC', '-o', join(dir, 'r.so'), join(dir, 'r.c')]);
  return readFileSync(join(dir, 'r.so'));
}

/** A record file any user may append to, in a folder of its own. */
export function recordFile(): { path: string; uids: () => number[] } {
  const dir = mkdtempSync(join(tmpdir(), 'edgefleet-rec-'));
  chmodSync(dir, 0o755);
  const path = join(dir, 'uids.txt');
  writeFileSync(path, '');
  chmodSync(path, 0o666);
  return {
    path,
    uids: () => readFileSync(path, 'utf8').split('\n').filter(Boolean).map(Number),
  };
}
