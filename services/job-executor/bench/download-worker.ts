// One download in a process of its own, so its peak RSS is its own (the emulator runs elsewhere).
// argv: mode (edgefleet | plain) bucket key size outDir. Prints one JSON line.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { downloadFiles } from '../src/adapters/s3-downloader.js';

const [mode, bucket, key, size, outDir] = process.argv.slice(2) as [string, string, string, string, string];
const s3 = new S3Client({ forcePathStyle: true });
await mkdir(join(outDir, 'work'), { recursive: true });
await mkdir(join(outDir, 'partial'), { recursive: true });
const t0 = performance.now();
if (mode === 'plain') {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  await pipeline(res.Body as Readable, createWriteStream(join(outDir, 'work', 'plain.bin')));
} else {
  const r = await downloadFiles(s3, [{ input: 0, bucket, key, size: Number(size), target: 'data.bin' }], {
    workDir: join(outDir, 'work'),
    partialDir: join(outDir, 'partial'),
    concurrency: 4,
  });
  if (!r.ok) throw new Error(r.detail);
}
const ms = performance.now() - t0;
s3.destroy();
process.stdout.write(`${JSON.stringify({ ms, maxRssKiB: process.resourceUsage().maxRSS })}\n`);
