// Finds the supplementary groups job processes get (core/job-groups.ts decides): stats the GPU
// device nodes under the device root (EDGEFLEET_DEVICE_ROOT, default /dev) and reads /etc/group.
import { readFile } from 'node:fs/promises';
import { listGpuDeviceNodes } from '@edgefleet/service-kit';
import { decideJobGroups, type JobGroups, parseGroupFile } from '../core/job-groups.js';

export async function resolveJobGroups(o: {
  devRoot: string;
  extra: readonly string[];
  groupFile?: string;
}): Promise<JobGroups> {
  const nodes = await listGpuDeviceNodes(o.devRoot);
  const text = await readFile(o.groupFile ?? '/etc/group', 'utf8').catch(() => '');
  return decideJobGroups({ deviceNodes: nodes, extra: o.extra, groupIds: parseGroupFile(text) });
}
