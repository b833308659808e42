// The UDP tracker protocol's datagrams (BEP 15), both directions, used by our client and our server.
// Decoders check sizes and return null (or throw nothing) on anything malformed.
import type { AnnounceEvent } from './types.js';

export const PROTOCOL_ID = 0x41727101980n;
export const ACTION_CONNECT = 0;
export const ACTION_ANNOUNCE = 1;
export const ACTION_SCRAPE = 2;
export const ACTION_ERROR = 3;

export const CONNECT_REQUEST_BYTES = 16;
export const ANNOUNCE_REQUEST_BYTES = 98;
export const ANNOUNCE_RESPONSE_MIN_BYTES = 20;

const EVENT_CODES: Record<AnnounceEvent, number> = { '': 0, completed: 1, started: 2, stopped: 3 };
const CODE_EVENTS: AnnounceEvent[] = ['', 'completed', 'started', 'stopped'];

export function eventCode(e: AnnounceEvent): number { return EVENT_CODES[e]; }
export function eventFromCode(code: number): AnnounceEvent | null { return CODE_EVENTS[code] ?? null; }

// ---- client → server

export function encodeConnectRequest(transactionId: number): Buffer {
  const b = Buffer.alloc(CONNECT_REQUEST_BYTES);
  b.writeBigUInt64BE(PROTOCOL_ID, 0);
  b.writeUInt32BE(ACTION_CONNECT, 8);
  b.writeUInt32BE(transactionId >>> 0, 12);
  return b;
}

export interface UdpAnnounceRequest {
  connectionId: Buffer; // 8 bytes, opaque
  transactionId: number;
  infoHash: Buffer;
  peerId: Buffer;
  downloaded: number;
  left: number;
  uploaded: number;
  event: AnnounceEvent;
  ip: number; // 0 = use the sender's address
  key: number;
  numWant: number; // -1 = tracker's default
  port: number;
}

export function encodeAnnounceRequest(r: UdpAnnounceRequest): Buffer {
  const b = Buffer.alloc(ANNOUNCE_REQUEST_BYTES);
  r.connectionId.copy(b, 0, 0, 8);
  b.writeUInt32BE(ACTION_ANNOUNCE, 8);
  b.writeUInt32BE(r.transactionId >>> 0, 12);
  r.infoHash.copy(b, 16, 0, 20);
  r.peerId.copy(b, 36, 0, 20);
  b.writeBigUInt64BE(toU64(r.downloaded), 56);
  b.writeBigUInt64BE(toU64(r.left), 64);
  b.writeBigUInt64BE(toU64(r.uploaded), 72);
  b.writeUInt32BE(eventCode(r.event), 80);
  b.writeUInt32BE(r.ip >>> 0, 84);
  b.writeUInt32BE(r.key >>> 0, 88);
  b.writeInt32BE(Math.max(-1, Math.min(0x7fffffff, Math.trunc(r.numWant))), 92);
  b.writeUInt16BE(r.port & 0xffff, 96);
  return b;
}

export function encodeScrapeRequest(connectionId: Buffer, transactionId: number, infoHashes: readonly Buffer[]): Buffer {
  const b = Buffer.alloc(16 + 20 * infoHashes.length);
  connectionId.copy(b, 0, 0, 8);
  b.writeUInt32BE(ACTION_SCRAPE, 8);
  b.writeUInt32BE(transactionId >>> 0, 12);
  infoHashes.forEach((h, i) => h.copy(b, 16 + 20 * i, 0, 20));
  return b;
}

function toU64(n: number): bigint {
  return BigInt(Math.max(0, Math.min(Number.MAX_SAFE_INTEGER, Math.floor(Number.isFinite(n) ? n : 0))));
}

/** What a client may receive: every answer starts with action and transaction id. */
export type UdpServerMessage =
  | { action: 'connect'; transactionId: number; connectionId: Buffer }
  | { action: 'announce'; transactionId: number; intervalS: number; leechers: number; seeders: number; peerBytes: Buffer }
  | { action: 'scrape'; transactionId: number; files: { seeders: number; completed: number; leechers: number }[] }
  | { action: 'error'; transactionId: number; message: string };

export function decodeServerMessage(b: Buffer): UdpServerMessage | null {
  if (b.length < 8) return null;
  const action = b.readUInt32BE(0);
  const transactionId = b.readUInt32BE(4);
  switch (action) {
    case ACTION_CONNECT:
      if (b.length < 16) return null;
      return { action: 'connect', transactionId, connectionId: Buffer.from(b.subarray(8, 16)) };
    case ACTION_ANNOUNCE:
      if (b.length < ANNOUNCE_RESPONSE_MIN_BYTES) return null;
      return {
        action: 'announce', transactionId, intervalS: b.readUInt32BE(8), leechers: b.readUInt32BE(12), seeders: b.readUInt32BE(16),
        peerBytes: Buffer.from(b.subarray(20)),
      };
    case ACTION_SCRAPE: {
      const files = [];
      for (let off = 8; off + 12 <= b.length; off += 12) {
        files.push({ seeders: b.readUInt32BE(off), completed: b.readUInt32BE(off + 4), leechers: b.readUInt32BE(off + 8) });
      }
      return { action: 'scrape', transactionId, files };
    }
    case ACTION_ERROR:
      // eslint-disable-next-line no-control-regex
      return { action: 'error', transactionId, message: b.subarray(8, 8 + 300).toString('utf8').replace(/[\x00-\x1f\x7f]/g, '?') };
    default:
      return null;
  }
}

// ---- server side

export type UdpClientMessage =
  | { action: 'connect'; transactionId: number }
  | (Omit<UdpAnnounceRequest, 'connectionId'> & { action: 'announce'; connectionId: Buffer })
  | { action: 'scrape'; connectionId: Buffer; transactionId: number; infoHashes: Buffer[] };

/** Decodes a request; null for anything that is not a well-formed BEP 15 request (the server then stays silent or errors). */
export function decodeClientMessage(b: Buffer): UdpClientMessage | null {
  if (b.length < 16) return null;
  const action = b.readUInt32BE(8);
  const transactionId = b.readUInt32BE(12);
  if (action === ACTION_CONNECT) {
    if (b.readBigUInt64BE(0) !== PROTOCOL_ID) return null;
    return { action: 'connect', transactionId };
  }
  const connectionId = Buffer.from(b.subarray(0, 8));
  if (action === ACTION_ANNOUNCE) {
    if (b.length < ANNOUNCE_REQUEST_BYTES) return null;
    const event = eventFromCode(b.readUInt32BE(80));
    if (event === null) return null;
    return {
      action: 'announce', connectionId, transactionId,
      infoHash: Buffer.from(b.subarray(16, 36)), peerId: Buffer.from(b.subarray(36, 56)),
      downloaded: Number(b.readBigUInt64BE(56)), left: Number(b.readBigUInt64BE(64)), uploaded: Number(b.readBigUInt64BE(72)),
      event, ip: b.readUInt32BE(84), key: b.readUInt32BE(88), numWant: b.readInt32BE(92), port: b.readUInt16BE(96),
    };
  }
  if (action === ACTION_SCRAPE) {
    const n = Math.min(74, Math.floor((b.length - 16) / 20)); // 74 hashes fit in a safe datagram (BEP 15)
    const infoHashes: Buffer[] = [];
    for (let i = 0; i < n; i++) infoHashes.push(Buffer.from(b.subarray(16 + 20 * i, 36 + 20 * i)));
    if (infoHashes.length === 0) return null;
    return { action: 'scrape', connectionId, transactionId, infoHashes };
  }
  return null;
}

export function encodeConnectResponse(transactionId: number, connectionId: Buffer): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(ACTION_CONNECT, 0);
  b.writeUInt32BE(transactionId >>> 0, 4);
  connectionId.copy(b, 8, 0, 8);
  return b;
}

export function encodeAnnounceResponse(transactionId: number, intervalS: number, leechers: number, seeders: number, peerBytes: Buffer): Buffer {
  const b = Buffer.alloc(20 + peerBytes.length);
  b.writeUInt32BE(ACTION_ANNOUNCE, 0);
  b.writeUInt32BE(transactionId >>> 0, 4);
  b.writeUInt32BE(intervalS >>> 0, 8);
  b.writeUInt32BE(leechers >>> 0, 12);
  b.writeUInt32BE(seeders >>> 0, 16);
  peerBytes.copy(b, 20);
  return b;
}

export function encodeScrapeResponse(transactionId: number, files: readonly { seeders: number; completed: number; leechers: number }[]): Buffer {
  const b = Buffer.alloc(8 + 12 * files.length);
  b.writeUInt32BE(ACTION_SCRAPE, 0);
  b.writeUInt32BE(transactionId >>> 0, 4);
  files.forEach((f, i) => {
    b.writeUInt32BE(f.seeders >>> 0, 8 + 12 * i);
    b.writeUInt32BE(f.completed >>> 0, 12 + 12 * i);
    b.writeUInt32BE(f.leechers >>> 0, 16 + 12 * i);
  });
  return b;
}

export function encodeErrorResponse(transactionId: number, message: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  const b = Buffer.alloc(8 + text.length);
  b.writeUInt32BE(ACTION_ERROR, 0);
  b.writeUInt32BE(transactionId >>> 0, 4);
  text.copy(b, 8);
  return b;
}
