// `edgefleet results <id> [--download DIR]`: where a job's result is, its files, and a download.
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { checkRelativePath, parseS3Uri } from '@edgefleet/contracts';
import type { AwsTarget } from '../aws.js';
import { CliError, EXIT } from '../errors.js';

export async function listResult(
  aws: AwsTarget,
  resultUri: string,
): Promise<{ key: string; size: number }[]> {
  const loc = parseS3Uri(resultUri);
  if (!loc.ok) throw new CliError(`unusable result location ${resultUri}`, EXIT.failure);
  const out: { key: string; size: number }[] = [];
  let token: string | undefined;
  do {
    const r = await aws.s3.send(
      new ListObjectsV2Command({ Bucket: loc.value.bucket, Prefix: loc.value.key, ContinuationToken: token }),
    );
    for (const o of r.Contents ?? [])
      out.push({ key: (o.Key ?? '').slice(loc.value.key.length), size: o.Size ?? 0 });
    token = r.NextContinuationToken;
  } while (token);
  return out;
}

export async function downloadResult(aws: AwsTarget, resultUri: string, dir: string): Promise<number> {
  const loc = parseS3Uri(resultUri);
  if (!loc.ok) throw new CliError(`unusable result location ${resultUri}`, EXIT.failure);
  const files = await listResult(aws, resultUri);
  for (const f of files) {
    if (checkRelativePath(f.key))
      throw new CliError(`refusing unsafe result key ${JSON.stringify(f.key)}`, EXIT.failure);
    const target = join(dir, f.key);
    mkdirSync(dirname(target), { recursive: true });
    const obj = await aws.s3.send(
      new GetObjectCommand({ Bucket: loc.value.bucket, Key: loc.value.key + f.key }),
    );
    await pipeline(obj.Body as Readable, createWriteStream(target));
  }
  return files.length;
}
