// The keyring file (--keyring-file, Consul's format: a JSON array of base64 keys, primary first) as
// the node's persistent keyring, the way Consul treats its local keyring file:
//   - at start, a file that exists IS the keyring; --key / --key-text are then only used when they
//     are already in it, otherwise ignored with a warning (after a rotation through the keyring
//     API the file holds the new keys, and an old --key on the command line must not come back as
//     primary on restart);
//   - a file that does not exist yet is created from --key / --key-text (primary first);
//   - every change made through the keyring API rewrites it (keyring-file.ts, keyring-admin.ts).
// Pure: the caller reads the file and writes it when `create` says so.
import { combineKeySources, type KeySources, type KeysParse, keysEqual } from './key-parse.js';

export type StartupKeys = KeysParse & {
  /** The file must be created with these keys (it did not exist). */
  create?: boolean;
  /** --key / --key-text were given but are not in the existing file: ignored. */
  ignoredFlags?: boolean;
};

/**
 * The keys a node starts with. `fileText` is the keyring file's content (undefined when the file
 * does not exist or none is configured); `fileConfigured` says whether --keyring-file was given.
 */
export function startupKeys(
  flags: Omit<KeySources, 'keyringFile'>,
  fileConfigured: boolean,
  fileText: string | undefined,
): StartupKeys {
  const fromFlags = combineKeySources(flags);
  if (!fromFlags.ok || !fileConfigured) return fromFlags;
  if (fileText === undefined) {
    if (fromFlags.keys.length === 0)
      return {
        ok: false,
        code: 'NO_KEYS',
        detail: '--keyring-file: the file does not exist and no --key or --key-text to create it from',
      };
    return { ...fromFlags, create: true };
  }
  const fromFile = combineKeySources({ keyringFile: fileText });
  if (!fromFile.ok) return fromFile;
  const ignoredFlags = fromFlags.keys.some((k) => !fromFile.keys.some((f) => keysEqual(f, k)));
  return ignoredFlags ? { ...fromFile, ignoredFlags } : fromFile;
}
