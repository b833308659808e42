// The BEP 3 handshake: <19>"BitTorrent protocol"<8 reserved><20 info-hash><20 peer id> = 68 bytes.
// Reserved bits: BEP 10 extension protocol (byte 5, 0x10), BEP 6 Fast Extension (byte 7, 0x04).
import { WireError } from './messages.js';

export const PROTOCOL_NAME = 'BitTorrent protocol';
export const HANDSHAKE_LENGTH = 68;

export interface Handshake {
  readonly infoHash: Buffer; // 20 bytes
  readonly peerId: Buffer; // 20 bytes
  readonly extensions: boolean; // BEP 10
  readonly fast: boolean; // BEP 6
  readonly reserved: Buffer; // 8 bytes as sent
}

const PSTR = Buffer.from(PROTOCOL_NAME, 'latin1');

export function encodeHandshake(infoHash: Uint8Array, peerId: Uint8Array, opts: { extensions?: boolean; fast?: boolean } = {}): Buffer {
  if (infoHash.length !== 20) throw new RangeError(`info-hash must be 20 bytes, got ${infoHash.length}`);
  if (peerId.length !== 20) throw new RangeError(`peer id must be 20 bytes, got ${peerId.length}`);
  const b = Buffer.alloc(HANDSHAKE_LENGTH);
  b[0] = 19;
  PSTR.copy(b, 1);
  if (opts.extensions ?? true) b[20 + 5] = 0x10;
  if (opts.fast ?? true) b[20 + 7] = 0x04;
  b.set(infoHash, 28);
  b.set(peerId, 48);
  return b;
}

/**
 * Parses a handshake from the start of `buf`. Returns null when more bytes are needed; throws a
 * WireError when the bytes cannot be a BitTorrent handshake.
 */
export function parseHandshake(buf: Uint8Array): Handshake | null {
  if (buf.length < 1) return null;
  if (buf[0] !== 19) throw new WireError(`not a BitTorrent handshake: protocol name length ${buf[0]} (expected 19)`);
  const have = Math.min(buf.length, 20);
  for (let i = 1; i < have; i++) {
    if (buf[i] !== PSTR[i - 1]) throw new WireError('not a BitTorrent handshake: protocol name is not "BitTorrent protocol"');
  }
  if (buf.length < HANDSHAKE_LENGTH) return null;
  const b = Buffer.from(buf.buffer, buf.byteOffset, HANDSHAKE_LENGTH);
  const reserved = Buffer.from(b.subarray(20, 28));
  return {
    reserved,
    extensions: (reserved[5]! & 0x10) !== 0,
    fast: (reserved[7]! & 0x04) !== 0,
    infoHash: Buffer.from(b.subarray(28, 48)),
    peerId: Buffer.from(b.subarray(48, 68)),
  };
}
