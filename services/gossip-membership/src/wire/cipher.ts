// The encryption hook the packet and stream codecs call (memberlist security.go; docs/wire.md §7.2,
// §9). The codec only frames: it passes the additional data and takes the sealed bytes
// `[vsn][12-byte nonce][ciphertext || 16-byte tag]`; AES-GCM, the keyring (try every key on open)
// and version 0/1 padding live in the implementation.
//
// Additional data: UDP = the label bytes (empty without a label); TCP = [0x0a][u32 BE length of
// the sealed payload] + the label. The stream length is needed BEFORE sealing, hence sealedLength.

export interface Cipher {
  /** Bytes of the sealed payload for `plainLength` bytes of plaintext (1 + 12 + n [+ pad] + 16). */
  sealedLength(plainLength: number): number;
  seal(plaintext: Uint8Array, additionalData: Uint8Array): Uint8Array;
  /** Tries every key; a failure is a value. */
  open(
    sealed: Uint8Array,
    additionalData: Uint8Array,
  ): { ok: true; plaintext: Uint8Array } | { ok: false; detail: string };
}
