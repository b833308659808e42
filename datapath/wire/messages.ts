// BitTorrent peer wire messages as values (BEP 3, Fast Extension BEP 6, extension protocol BEP 10).
// Byte layouts live in encode.ts (writing) and parser.ts (reading).

/** Message ids on the wire (the byte after the 4-byte length prefix). */
export enum MsgId {
  Choke = 0,
  Unchoke = 1,
  Interested = 2,
  NotInterested = 3,
  Have = 4,
  Bitfield = 5,
  Request = 6,
  Piece = 7,
  Cancel = 8,
  Port = 9, // BEP 5 (DHT); parsed and ignored
  Suggest = 13, // BEP 6
  HaveAll = 14,
  HaveNone = 15,
  Reject = 16,
  AllowedFast = 17,
  Extended = 20, // BEP 10
}

/** Not a wire id: the 4-byte zero length. */
export const KEEP_ALIVE = -1;
/** Not a wire id: a message whose id we do not know (BEP 3: ignore it). */
export const UNKNOWN = -2;

export type WireMessage =
  | { readonly id: typeof KEEP_ALIVE }
  | { readonly id: MsgId.Choke | MsgId.Unchoke | MsgId.Interested | MsgId.NotInterested | MsgId.HaveAll | MsgId.HaveNone }
  | { readonly id: MsgId.Have | MsgId.Suggest | MsgId.AllowedFast; readonly index: number }
  | { readonly id: MsgId.Bitfield; readonly bits: Buffer }
  | { readonly id: MsgId.Request | MsgId.Cancel | MsgId.Reject; readonly index: number; readonly begin: number; readonly length: number }
  | { readonly id: MsgId.Piece; readonly index: number; readonly begin: number; readonly block: Buffer }
  | { readonly id: MsgId.Port; readonly port: number }
  | { readonly id: MsgId.Extended; readonly extId: number; readonly payload: Buffer }
  | { readonly id: typeof UNKNOWN; readonly wireId: number; readonly payload: Buffer };

/** Largest block we request and serve (every client uses 16 KiB; BEP 3 allows peers to close on > 128 KiB). */
export const BLOCK_SIZE = 16 * 1024;
export const MAX_REQUEST_LENGTH = 128 * 1024;

/** A violation of the wire protocol; `message` names the problem. The peer that sent it is dropped. */
export class WireError extends Error {
  override readonly name = 'WireError';
}

export function msgName(id: number): string {
  switch (id) {
    case KEEP_ALIVE: return 'keep-alive';
    case MsgId.Choke: return 'choke';
    case MsgId.Unchoke: return 'unchoke';
    case MsgId.Interested: return 'interested';
    case MsgId.NotInterested: return 'not-interested';
    case MsgId.Have: return 'have';
    case MsgId.Bitfield: return 'bitfield';
    case MsgId.Request: return 'request';
    case MsgId.Piece: return 'piece';
    case MsgId.Cancel: return 'cancel';
    case MsgId.Port: return 'port';
    case MsgId.Suggest: return 'suggest';
    case MsgId.HaveAll: return 'have-all';
    case MsgId.HaveNone: return 'have-none';
    case MsgId.Reject: return 'reject';
    case MsgId.AllowedFast: return 'allowed-fast';
    case MsgId.Extended: return 'extended';
    default: return `unknown(${id})`;
  }
}
