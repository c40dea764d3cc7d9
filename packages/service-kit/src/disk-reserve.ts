// Reads what the data disk reserves (contracts' disk-reserve.ts decides): statfs of the data folder
// and, from /proc/self/mountinfo, the mount it lives on (its filesystem options carry resgid=). Read by
// the executor at start and by `edgefleet doctor`.
import { readFile, realpath, statfs } from 'node:fs/promises';
import { type DiskReserveFacts, mountOf } from '@edgefleet/contracts';

export async function readDiskReserve(dataDir: string): Promise<DiskReserveFacts> {
  const s = await statfs(dataDir);
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const mount = mountOf(mountinfo, await realpath(dataDir));
  return {
    bsize: Number(s.bsize),
    bfree: Number(s.bfree),
    bavail: Number(s.bavail),
    ...(mount ? { mount } : {}),
  };
}
