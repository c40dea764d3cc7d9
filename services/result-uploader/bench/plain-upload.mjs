// The baseline of bench/upload.ts: the same files uploaded with a plain lib-storage Upload (its defaults:
// 5 MiB parts, 4 in flight), one after the other, nothing else. Prints one JSON line.
// argv: <endpoint> <bucket> <prefix> <file>...
import { createReadStream, readFileSync } from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

const [endpoint, bucket, prefix, ...files] = process.argv.slice(2);
const rss = (f) =>
  Number(new RegExp(`^${f}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024;
const client = new S3Client({
  endpoint,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
const before = rss('VmRSS');
const t0 = performance.now();
for (const [i, file] of files.entries()) {
  await new Upload({
    client,
    params: { Bucket: bucket, Key: `${prefix}${i}`, Body: createReadStream(file) },
  }).done();
}
const ms = performance.now() - t0;
client.destroy();
process.stdout.write(`${JSON.stringify({ ms, before, peak: rss('VmHWM') })}\n`);
