// Which files of a job are already uploaded, kept in Redis (names.uploadedKey) as each file completes,
// so a restart in the middle of a job's upload (crash, power cut, shutdown) sends only what is
// missing: a file recorded with the same key, size and sha256 as the file on disk now is not sent
// again. The hash expires with the upload budget (plus a day) and is deleted when the job is final.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { ManifestFile } from '@edgefleet/contracts';
import type { Redis } from 'ioredis';

export class UploadProgress {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly ttlSeconds: number,
  ) {}

  /** Files recorded as uploaded, by path. Undecodable rows are ignored (the file is sent again). */
  async load(): Promise<Map<string, ManifestFile>> {
    const out = new Map<string, ManifestFile>();
    for (const [path, v] of Object.entries(await this.redis.hgetall(this.key))) {
      try {
        const f = JSON.parse(v) as ManifestFile;
        if (typeof f.sha256 === 'string' && typeof f.size === 'number' && typeof f.key === 'string')
          out.set(path, { ...f, path });
      } catch {
        // written by this service: always JSON
      }
    }
    return out;
  }

  async add(f: ManifestFile): Promise<void> {
    await this.redis
      .multi()
      .hset(this.key, f.path, JSON.stringify(f))
      .expire(this.key, this.ttlSeconds)
      .exec();
  }

  async clear(): Promise<void> {
    await this.redis.del(this.key);
  }
}

/** sha256 (hex) of a file's content, streamed. */
export async function sha256OfFile(abs: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(abs)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
