// The keyring file's I/O (--keyring-file, Consul's format: a JSON array of base64 keys, primary
// first): read it, and replace it atomically (write a temporary file in the same directory, fsync,
// rename over the old one, fsync the directory), mode 0600. Which keys a node starts with, given the
// file's text and the flags, is decided in startup-keys.ts.
import { readTextFile, writeFileAtomic } from '../atomic-file.js';
import { formatKeyringFile } from './key-parse.js';

/** The file's text, or undefined when it does not exist. */
export const readKeyringFile = (path: string): Promise<string | undefined> => readTextFile(path);

/** Replaces the file with `keys` (primary first) so that a crash leaves the old or the new file, whole. */
export const writeKeyringFile = (path: string, keys: readonly Uint8Array[]): Promise<void> =>
  writeFileAtomic(path, formatKeyringFile(keys), 0o600);
