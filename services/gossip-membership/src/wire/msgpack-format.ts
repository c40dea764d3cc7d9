// What the msgpack readers share (msgpack-measure.ts, msgpack-struct.ts): failures as values,
// never exceptions, and big-endian length fields.
//   TRUNCATED   the buffer ends inside the object;
//   BAD_MSGPACK not msgpack (0xc1, reserved), or a type the field cannot take, or an overflow;
//   TOO_DEEP    nesting beyond MAX_DEPTH (msgpack-measure.ts).

export type MsgpackErrorCode = 'TRUNCATED' | 'BAD_MSGPACK' | 'TOO_DEEP';
export interface MsgpackError {
  ok: false;
  code: MsgpackErrorCode;
  detail: string;
}

export const msgpackFail = (code: MsgpackErrorCode, detail: string): MsgpackError => ({
  ok: false,
  code,
  detail,
});

/** Unsigned 16-bit big-endian at `at` (msgpack's 16-bit lengths). */
export function be16(buf: Uint8Array, at: number): number {
  return ((buf[at] ?? 0) << 8) | (buf[at + 1] ?? 0);
}

/** Unsigned 32-bit big-endian at `at` (msgpack's 32-bit lengths). */
export function be32(buf: Uint8Array, at: number): number {
  return (
    (((buf[at] ?? 0) << 24) | ((buf[at + 1] ?? 0) << 16) | ((buf[at + 2] ?? 0) << 8) | (buf[at + 3] ?? 0)) >>>
    0
  );
}
