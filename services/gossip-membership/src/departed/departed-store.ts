// Where a node keeps its departed record across restarts of the service: the device's Redis (one
// string, RedisNames.departedMembers) or, on a device without Redis, a file written atomically.
// Both hold the DepartedState JSON (packages/contracts/src/departed-members.ts).
import type { Redis } from 'ioredis';
import { readTextFile, writeFileAtomic } from '../atomic-file.js';

export interface DepartedStore {
  /** Where it is kept, for logs. */
  readonly where: string;
  /** The saved text, undefined when nothing was saved yet. */
  load(): Promise<string | undefined>;
  save(text: string): Promise<void>;
}

export function redisDepartedStore(redis: Redis, key: string): DepartedStore {
  return {
    where: `redis key ${key}`,
    load: async () => (await redis.get(key)) ?? undefined,
    save: async (text) => {
      await redis.set(key, text);
    },
  };
}

export function fileDepartedStore(path: string): DepartedStore {
  return {
    where: `file ${path}`,
    load: () => readTextFile(path),
    save: (text) => writeFileAtomic(path, text, 0o644),
  };
}
