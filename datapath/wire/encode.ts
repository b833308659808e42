// Encoders for peer wire messages: each returns the bytes to write, length prefix included.
// Piece messages are written as a 13-byte header plus the block itself (no copy of the block).
import { MsgId } from './messages.js';

/**
 * Stores `v` (0 ≤ v < 2^32, the caller's promise) big-endian at `o`. Plain byte stores: Buffer's
 * writeUInt32BE range-checks in two more calls, which showed in a leecher's profile (four per request).
 */
function putU32(b: Buffer, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

function bare(id: MsgId): Buffer {
  const b = Buffer.allocUnsafe(5);
  b.writeUInt32BE(1, 0);
  b[4] = id;
  return b;
}

// Constant messages are shared: callers must not mutate them.
export const KEEP_ALIVE_BYTES = Buffer.alloc(4);
export const CHOKE_BYTES = bare(MsgId.Choke);
export const UNCHOKE_BYTES = bare(MsgId.Unchoke);
export const INTERESTED_BYTES = bare(MsgId.Interested);
export const NOT_INTERESTED_BYTES = bare(MsgId.NotInterested);
export const HAVE_ALL_BYTES = bare(MsgId.HaveAll);
export const HAVE_NONE_BYTES = bare(MsgId.HaveNone);

function withIndex(id: MsgId, index: number): Buffer {
  const b = Buffer.allocUnsafe(9);
  b.writeUInt32BE(5, 0);
  b[4] = id;
  b.writeUInt32BE(index, 5);
  return b;
}

export const encodeHave = (index: number): Buffer => withIndex(MsgId.Have, index);
export const encodeSuggest = (index: number): Buffer => withIndex(MsgId.Suggest, index);
export const encodeAllowedFast = (index: number): Buffer => withIndex(MsgId.AllowedFast, index);

export function encodeBitfield(bits: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(5 + bits.length);
  b.writeUInt32BE(1 + bits.length, 0);
  b[4] = MsgId.Bitfield;
  b.set(bits, 5);
  return b;
}

function putBlockRef(b: Buffer, o: number, id: MsgId, index: number, begin: number, length: number): void {
  b[o] = 0;
  b[o + 1] = 0;
  b[o + 2] = 0;
  b[o + 3] = 13;
  b[o + 4] = id;
  putU32(b, o + 5, index);
  putU32(b, o + 9, begin);
  putU32(b, o + 13, length);
}

function blockRef(id: MsgId, index: number, begin: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(17);
  putBlockRef(b, 0, id, index, begin, length);
  return b;
}

export const encodeRequest = (index: number, begin: number, length: number): Buffer => blockRef(MsgId.Request, index, begin, length);
export const encodeCancel = (index: number, begin: number, length: number): Buffer => blockRef(MsgId.Cancel, index, begin, length);
export const encodeReject = (index: number, begin: number, length: number): Buffer => blockRef(MsgId.Reject, index, begin, length);

/** Request messages for all these blocks, back to back in one buffer (one socket write). */
export function encodeRequests(blocks: readonly { readonly index: number; readonly begin: number; readonly length: number }[]): Buffer {
  const b = Buffer.allocUnsafe(17 * blocks.length);
  for (let i = 0; i < blocks.length; i++) {
    const r = blocks[i]!;
    putBlockRef(b, 17 * i, MsgId.Request, r.index, r.begin, r.length);
  }
  return b;
}

/** The 13-byte header of a piece message carrying `blockLength` bytes; write the block right after it. */
export function encodePieceHeader(index: number, begin: number, blockLength: number): Buffer {
  const b = Buffer.allocUnsafe(13);
  putU32(b, 0, 9 + blockLength);
  b[4] = MsgId.Piece;
  putU32(b, 5, index);
  putU32(b, 9, begin);
  return b;
}

/** A whole piece message in one buffer (tests, small tools); the engine writes header + block instead. */
export function encodePiece(index: number, begin: number, block: Uint8Array): Buffer {
  return Buffer.concat([encodePieceHeader(index, begin, block.length), block]);
}

export function encodePort(port: number): Buffer {
  const b = Buffer.allocUnsafe(7);
  b.writeUInt32BE(3, 0);
  b[4] = MsgId.Port;
  b.writeUInt16BE(port, 5);
  return b;
}

export function encodeExtended(extId: number, payload: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(6 + payload.length);
  b.writeUInt32BE(2 + payload.length, 0);
  b[4] = MsgId.Extended;
  b[5] = extId;
  b.set(payload, 6);
  return b;
}
