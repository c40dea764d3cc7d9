// Workspace layout: where every input lands in the job's one workspace folder, decided before a byte
// is written (architecture: "Workspace layout").
//
// - An object input lands at `path` when given, else at its basename; a prefix input becomes a folder
//   at `path` (default: the prefix's last segment) with the structure below the prefix kept.
// - Every target, and every key listed under a prefix, must pass contracts' checkRelativePath: a key
//   such as `data/../../etc/x` or a bare `..` fails the whole job (UNSAFE_PATH), nothing is written.
// - Two files on one path, or a file where another input needs a folder, fail the job with
//   INPUT_COLLISION naming both inputs.
// - Count and size limits are checked on the listing (TOO_MANY_INPUTS, INPUT_TOO_LARGE).
// Pure: the listing comes in, a plan or a typed failure goes out.
import { checkRelativePath, inputTargetPath, type JobInput, type ReasonCode } from '@edgefleet/contracts';

/** One S3 object seen by HEAD (object input) or ListObjectsV2 (prefix input). */
interface ListedObject {
  key: string;
  size: number;
}

/** An input with what S3 holds for it. */
export interface ListedInput {
  input: Pick<JobInput, 'uri' | 'path' | 'sha256'>;
  bucket: string;
  /** Object key, or the prefix (ends with `/`, or '' for a bucket root). */
  key: string;
  isPrefix: boolean;
  objects: ListedObject[];
}

export interface PlannedFile {
  /** Index of the input in the job message. */
  input: number;
  bucket: string;
  key: string;
  size: number;
  /** Workspace-relative path of the file. */
  target: string;
  sha256?: string;
}

export interface PlanLimits {
  maxFiles: number;
  maxBytes: number;
}

type PlanFailure = { ok: false; code: ReasonCode; detail: string };
export type Plan = { ok: true; files: PlannedFile[]; totalBytes: number } | PlanFailure;

const fail = (code: ReasonCode, detail: string): PlanFailure => ({ ok: false, code, detail });

const describe = (f: PlannedFile, uri: string) =>
  `inputs[${f.input}] ${uri.endsWith('/') || uri.match(/^s3:\/\/[^/]+$/) ? `${uri} (key ${f.key})` : uri} → ${f.target}`;

/** Early check of counts only (used while listing, to stop paging through a huge prefix). */
const tooManyFiles = (count: number, limits: PlanLimits) => count > limits.maxFiles;

export function planWorkspace(inputs: readonly ListedInput[], limits: PlanLimits): Plan {
  const files: PlannedFile[] = [];
  for (const [i, li] of inputs.entries()) {
    const target = inputTargetPath(li.input);
    if (!li.isPrefix) {
      const problem = checkRelativePath(target);
      if (problem) return fail('UNSAFE_PATH', `inputs[${i}] target ${JSON.stringify(target)}: ${problem}`);
      const obj = li.objects[0];
      if (!obj) return fail('INPUT_NOT_FOUND', `inputs[${i}] ${li.input.uri} not found`);
      files.push({
        input: i,
        bucket: li.bucket,
        key: obj.key,
        size: obj.size,
        target,
        ...(li.input.sha256 ? { sha256: li.input.sha256 } : {}),
      });
    } else {
      // '' (bucket root, no path) lands at the workspace root; else a folder `name/`.
      const folder = target === '' ? '' : target.endsWith('/') ? target : `${target}/`;
      if (folder !== '') {
        const problem = checkRelativePath(folder, { allowTrailingSlash: true });
        if (problem) return fail('UNSAFE_PATH', `inputs[${i}] target ${JSON.stringify(folder)}: ${problem}`);
      }
      let count = 0;
      for (const obj of li.objects) {
        if (!obj.key.startsWith(li.key))
          return fail(
            'UNSAFE_PATH',
            `inputs[${i}] listed key ${JSON.stringify(obj.key)} is outside its prefix`,
          );
        const rel = obj.key.slice(li.key.length);
        // Folder markers (`a/`, or the prefix itself) made by consoles: no file to write.
        if (rel === '' || (rel.endsWith('/') && obj.size === 0)) continue;
        const problem = checkRelativePath(rel) ?? checkRelativePath(folder + rel);
        if (problem)
          return fail(
            'UNSAFE_PATH',
            `inputs[${i}] ${li.input.uri}: key ${JSON.stringify(obj.key)} is not a safe path (${problem})`,
          );
        files.push({ input: i, bucket: li.bucket, key: obj.key, size: obj.size, target: folder + rel });
        count++;
      }
      if (count === 0)
        return fail('INPUT_NOT_FOUND', `inputs[${i}] ${li.input.uri}: no objects under the prefix`);
    }
    if (tooManyFiles(files.length, limits))
      return fail('TOO_MANY_INPUTS', `more than ${limits.maxFiles} input files`);
  }

  let totalBytes = 0;
  for (const f of files) totalBytes += f.size;
  if (totalBytes > limits.maxBytes)
    return fail('INPUT_TOO_LARGE', `inputs total ${totalBytes} bytes, over the limit of ${limits.maxBytes}`);

  const collision = findCollision(files, (f) => inputs[f.input]?.input.uri ?? '');
  if (collision) return fail('INPUT_COLLISION', collision);
  return { ok: true, files, totalBytes };
}

/** The first collision (same file path, or a file where a folder is needed), described; or null. */
function findCollision(files: readonly PlannedFile[], uriOf: (f: PlannedFile) => string): string | null {
  const byPath = new Map<string, PlannedFile>();
  for (const f of files) {
    const other = byPath.get(f.target);
    if (other) return `${describe(other, uriOf(other))} and ${describe(f, uriOf(f))} land on the same path`;
    byPath.set(f.target, f);
  }
  for (const f of files) {
    const segs = f.target.split('/');
    for (let n = 1; n < segs.length; n++) {
      const dir = segs.slice(0, n).join('/');
      const file = byPath.get(dir);
      if (file)
        return `${describe(file, uriOf(file))} is a file where ${describe(f, uriOf(f))} needs a folder`;
    }
  }
  return null;
}
