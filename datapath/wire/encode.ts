// Encoders for peer wire messages: each returns the bytes to write, length prefix included.
// Piece messages are written as a 13-byte header plus the block itself (no copy of the block).
import { MsgId } from './messages.js';

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

function blockRef(id: MsgId, index: number, begin: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(17);
  b.writeUInt32BE(13, 0);
  b[4] = id;
  b.writeUInt32BE(index, 5);
  b.writeUInt32BE(begin, 9);
  b.writeUInt32BE(length, 13);
  return b;
}

export const encodeRequest = (index: number, begin: number, length: number): Buffer => blockRef(MsgId.Request, index, begin, length);
export const encodeCancel = (index: number, begin: number, length: number): Buffer => blockRef(MsgId.Cancel, index, begin, length);
export const encodeReject = (index: number, begin: number, length: number): Buffer => blockRef(MsgId.Reject, index, begin, length);

/** The 13-byte header of a piece message carrying `blockLength` bytes; write the block right after it. */
export function encodePieceHeader(index: number, begin: number, blockLength: number): Buffer {
  const b = Buffer.allocUnsafe(13);
  b.writeUInt32BE(9 + blockLength, 0);
  b[4] = MsgId.Piece;
  b.writeUInt32BE(index, 5);
  b.writeUInt32BE(begin, 9);
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
