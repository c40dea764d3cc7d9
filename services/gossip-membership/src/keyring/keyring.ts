// The gossip keyring (memberlist `keyring.go`; docs/wire.md §9): an ordered set of AES keys of 16,
// 24 or 32 bytes. Index 0 is the PRIMARY key: it encrypts everything we send and is tried first
// on receive; every other key only decrypts. Encryption is enabled iff the ring holds a key
// (memberlist Config.EncryptionEnabled).
//
// Rotation (memberlist/Serf `keys -install / -use / -remove`), done on every node in turn:
//   1. addKey(new)      every node can now decrypt messages sealed with `new`;
//   2. useKey(new)      `new` becomes primary (nodes that do not have it yet would drop our
//                       packets, hence step 1 on all nodes first);
//   3. removeKey(old)   once every node uses `new`. Removing the primary is refused.
// Same semantics as Go: adding an installed key is a no-op, removing a key that is not installed
// is a no-op, useKey of an unknown key fails. Unlike Go (which panics), removeKey on an empty ring
// is a clean error. Keys are copied in and out, so callers cannot mutate the ring behind its back.
//
// The ring is mutable on purpose (rotation happens while the node runs): wire/security.ts reads
// `keys`/`primary` at every seal/open, so a change applies to the next packet. `version` counts
// changes (for caches and metrics). Pure: no I/O, no clock.

import { isKeySize, keysEqual } from './key-parse.js';

type KeyringErrorCode = 'BAD_KEY_SIZE' | 'KEY_NOT_INSTALLED' | 'REMOVE_PRIMARY' | 'EMPTY_KEYRING';

export interface KeyringError {
  code: KeyringErrorCode;
  detail: string;
}

export type KeyringResult = { ok: true } | ({ ok: false } & KeyringError);

/** memberlist ValidateKey: null when `key` is 16, 24 or 32 bytes. */
export function validateKey(key: Uint8Array): KeyringError | null {
  return isKeySize(key.length)
    ? null
    : { code: 'BAD_KEY_SIZE', detail: `key size must be 16, 24 or 32 bytes, not ${key.length}` };
}

export class Keyring {
  #keys: Uint8Array[] = [];
  #version = 0;

  /**
   * memberlist NewKeyring: `keys` in order, primary first (pass [] for an empty ring, i.e.
   * encryption off). With `primary`, that key is installed (if absent) and made primary.
   */
  static create(
    keys: readonly Uint8Array[],
    primary?: Uint8Array,
  ): { ok: true; keyring: Keyring } | ({ ok: false } & KeyringError) {
    const ring = new Keyring();
    const all = primary === undefined ? keys : [primary, ...keys];
    for (const k of all) {
      const r = ring.addKey(k);
      if (!r.ok) return r;
    }
    if (primary !== undefined) ring.useKey(primary);
    return { ok: true, keyring: ring };
  }

  /** Copies of the keys, primary first. */
  get keys(): Uint8Array[] {
    return this.#keys.map((k) => k.slice());
  }

  /** The keys without copying, for the cipher's hot path. Do not mutate. */
  get keysView(): readonly Uint8Array[] {
    return this.#keys;
  }

  /** The primary key (a view; do not mutate), undefined when the ring is empty. */
  get primary(): Uint8Array | undefined {
    return this.#keys[0];
  }

  get size(): number {
    return this.#keys.length;
  }

  /** memberlist EncryptionEnabled(). */
  get enabled(): boolean {
    return this.#keys.length > 0;
  }

  /** Incremented by every change of the keys or of the primary. */
  get version(): number {
    return this.#version;
  }

  has(key: Uint8Array): boolean {
    return this.#keys.some((k) => keysEqual(k, key));
  }

  /** Installs a key for decryption (primary if the ring was empty). No-op when already installed. */
  addKey(key: Uint8Array): KeyringResult {
    const bad = validateKey(key);
    if (bad !== null) return { ok: false, ...bad };
    if (this.has(key)) return { ok: true };
    this.#keys.push(key.slice());
    this.#version += 1;
    return { ok: true };
  }

  /** Makes an installed key the primary (the one that encrypts). */
  useKey(key: Uint8Array): KeyringResult {
    const i = this.#keys.findIndex((k) => keysEqual(k, key));
    if (i < 0) return { ok: false, code: 'KEY_NOT_INSTALLED', detail: 'requested key is not in the keyring' };
    if (i > 0) {
      const [k] = this.#keys.splice(i, 1);
      this.#keys.unshift(k as Uint8Array);
      this.#version += 1;
    }
    return { ok: true };
  }

  /** Drops a non-primary key. Refuses the primary; a key not installed is a no-op (as in Go). */
  removeKey(key: Uint8Array): KeyringResult {
    const primary = this.#keys[0];
    if (primary === undefined) return { ok: false, code: 'EMPTY_KEYRING', detail: 'the keyring is empty' };
    if (keysEqual(primary, key))
      return { ok: false, code: 'REMOVE_PRIMARY', detail: 'removing the primary key is not allowed' };
    const i = this.#keys.findIndex((k) => keysEqual(k, key));
    if (i > 0) {
      this.#keys.splice(i, 1);
      this.#version += 1;
    }
    return { ok: true };
  }
}
