// The BEP 10 extension handshake (extended message id 0): a bencoded dictionary. We send `m` (no
// extensions of our own yet), `v`, `reqq`, and `p` when listening; we read theirs defensively.
// Decoding goes through the strict checker: the bencode package alone can loop forever on hostile
// input (a negative string length), and this payload comes straight from a peer.
import { decodeBencode, encodeBencode } from '../bencode.js';
import { WireError } from './messages.js';

export interface ExtensionHandshake {
  /** Extension name → the id the peer wants for it (0 = disabled). */
  readonly m: ReadonlyMap<string, number>;
  readonly client?: string; // v
  readonly reqq?: number; // how many outstanding requests the peer keeps for us
  readonly listenPort?: number; // p
}

export function encodeExtensionHandshake(opts: { client: string; reqq: number; listenPort?: number; m?: Record<string, number> }): Buffer {
  const dict: Record<string, unknown> = { m: opts.m ?? {}, v: opts.client, reqq: opts.reqq };
  if (opts.listenPort) dict.p = opts.listenPort;
  return encodeBencode(dict as Parameters<typeof encodeBencode>[0]);
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Parses a peer's extension handshake; malformed input is a WireError, odd fields are ignored. */
export function parseExtensionHandshake(payload: Uint8Array): ExtensionHandshake {
  let dict: unknown;
  try {
    dict = decodeBencode(payload);
  } catch (err) {
    throw new WireError(`extension handshake is not valid bencode: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof dict !== 'object' || dict === null || Array.isArray(dict) || dict instanceof Uint8Array) {
    throw new WireError('extension handshake is not a dictionary');
  }
  const d = dict as Record<string, unknown>;
  const m = new Map<string, number>();
  if (typeof d.m === 'object' && d.m !== null && !(d.m instanceof Uint8Array) && !Array.isArray(d.m)) {
    for (const [k, v] of Object.entries(d.m as Record<string, unknown>)) if (isInt(v) && v >= 0 && v <= 255) m.set(k, v);
  }
  const out: { m: Map<string, number>; client?: string; reqq?: number; listenPort?: number } = { m };
  if (d.v instanceof Uint8Array) out.client = Buffer.from(d.v).toString('utf8').slice(0, 64);
  if (isInt(d.reqq) && d.reqq > 0) out.reqq = Math.min(d.reqq, 100_000);
  if (isInt(d.p) && d.p > 0 && d.p < 65536) out.listenPort = d.p;
  return out;
}
