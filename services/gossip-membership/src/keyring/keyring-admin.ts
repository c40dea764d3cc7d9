// Changing the gossip keyring of a RUNNING node (memberlist's Keyring / Serf's `keys -install -use
// -remove`), behind the HTTP keyring API (keyring-routes.ts). Node-local: each call changes this
// node only; an operator rotates a cluster by installing the new key on every node, then using it on
// every node, then removing the old one on every node (README, gossip section).
//
// Every change is applied to a copy first and persisted (when a keyring file is configured) BEFORE
// the live ring changes, so the file never holds less than the node uses; a failed write leaves the
// ring untouched. Changes are serialised (one at a time). The live ring is the one the codec's
// cipher reads at every seal/open, so a change applies to the next packet.
//
// A node started WITHOUT encryption refuses every change (ENCRYPTION_NOT_ENABLED): turning
// encryption on live would make it drop every plaintext packet of its peers at once; that rollout
// needs restarts with EDGEFLEET_GOSSIP_VERIFY_INCOMING/OUTGOING=false (security.ts, transition plan).
//
// Idempotent like memberlist: installing an installed key, using the primary or removing a key that
// is not installed succeed with changed=false (so a rotation script can be re-run).
//
// Keys never leave this module: listings and logs carry fingerprints (fingerprint()).
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { parseKeyBase64 } from './key-parse.js';
import { Keyring } from './keyring.js';

/** Hex characters of sha256(key) shown for a key (64 bits: unique in any keyring, reveals nothing). */
const FINGERPRINT_HEX = 16;

/** `sha256:` + the first FINGERPRINT_HEX hex characters of the key's SHA-256. */
export function fingerprint(key: Uint8Array): string {
  return `sha256:${createHash('sha256').update(key).digest('hex').slice(0, FINGERPRINT_HEX)}`;
}

export interface KeyringStatus {
  /** Whether gossip is encrypted (the ring holds a key). */
  enabled: boolean;
  /** Fingerprint of the key that encrypts; null without encryption. */
  primary: string | null;
  /** Fingerprints of every installed key, primary first. */
  keys: string[];
  /** Whether changes are written to a keyring file. */
  persisted: boolean;
}

export type KeyringOp = 'install' | 'use' | 'remove';

export type KeyringAdminErrorCode =
  | 'BAD_KEY' // not standard base64 of 16, 24 or 32 bytes
  | 'ENCRYPTION_NOT_ENABLED' // the node runs without a keyring
  | 'KEY_NOT_INSTALLED' // use of a key that is not installed
  | 'REMOVE_PRIMARY' // remove of the key that encrypts
  | 'PERSIST_FAILED'; // the keyring file could not be written (nothing changed)

export type KeyringChange =
  | { ok: true; changed: boolean; status: KeyringStatus }
  | { ok: false; code: KeyringAdminErrorCode; message: string };

export interface KeyringAdminOptions {
  /** The live ring the codec uses. */
  keyring: Keyring;
  /** Writes the whole keyring (primary first), atomically; absent = changes last until restart. */
  persist?: (keys: readonly Uint8Array[]) => Promise<void>;
  logger: Logger;
}

export class KeyringAdmin {
  readonly #ring: Keyring;
  readonly #persist: KeyringAdminOptions['persist'];
  readonly #log: Logger;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(o: KeyringAdminOptions) {
    this.#ring = o.keyring;
    this.#persist = o.persist;
    this.#log = o.logger.child({ component: 'keyring' });
  }

  status(): KeyringStatus {
    const keys = this.#ring.keysView.map(fingerprint);
    return {
      enabled: this.#ring.enabled,
      primary: keys[0] ?? null,
      keys,
      persisted: this.#persist !== undefined,
    };
  }

  /** Applies one operation to the base64 `keyText`; resolves with the outcome (never rejects). */
  change(op: KeyringOp, keyText: string): Promise<KeyringChange> {
    const run = this.#queue.then(() => this.#change(op, keyText));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #change(op: KeyringOp, keyText: string): Promise<KeyringChange> {
    const parsed = parseKeyBase64(keyText);
    if (!parsed.ok) return { ok: false, code: 'BAD_KEY', message: parsed.detail };
    if (!this.#ring.enabled)
      return {
        ok: false,
        code: 'ENCRYPTION_NOT_ENABLED',
        message:
          'this node runs without gossip encryption; start it with --key, --key-text or --keyring-file to use the keyring API',
      };
    const key = parsed.key;
    const fp = fingerprint(key);
    const copy = Keyring.create(this.#ring.keysView);
    if (!copy.ok) throw new Error(`keyring copy: ${copy.detail}`);
    const next = copy.keyring;
    const before = next.version;
    const applied = apply(next, op, key);
    if (!applied.ok) {
      const code = applied.code === 'REMOVE_PRIMARY' ? 'REMOVE_PRIMARY' : 'KEY_NOT_INSTALLED';
      return { ok: false, code, message: applied.detail };
    }
    if (next.version === before) return { ok: true, changed: false, status: this.status() };
    if (this.#persist) {
      try {
        await this.#persist(next.keysView);
      } catch (err) {
        this.#log.error({ op, key: fp, err: { message: (err as Error).message } }, 'keyring not persisted');
        return {
          ok: false,
          code: 'PERSIST_FAILED',
          message: `the keyring file could not be written (nothing changed): ${(err as Error).message}`,
        };
      }
    }
    const live = apply(this.#ring, op, key);
    if (!live.ok) throw new Error(`keyring ${op}: ${live.detail}`); // the copy accepted it
    const status = this.status();
    this.#log.info({ op, key: fp, primary: status.primary, keys: status.keys }, `gossip key ${op}`);
    return { ok: true, changed: true, status };
  }
}

function apply(ring: Keyring, op: KeyringOp, key: Uint8Array) {
  switch (op) {
    case 'install':
      return ring.addKey(key);
    case 'use':
      return ring.useKey(key);
    case 'remove':
      return ring.removeKey(key);
  }
}
