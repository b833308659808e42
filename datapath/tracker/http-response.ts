// Reads an HTTP tracker's bencoded announce answer (BEP 3, compact lists per BEP 23, peers6 per BEP 7).
import { BencodeError, decodeBencode, isDict, type BencodeValue } from '../bencode.js';
import { isValidPeer, parseCompactPeers } from './compact-peers.js';
import { TrackerError } from './tracker-error.js';
import type { AnnounceResponse, PeerAddress } from './types.js';

/** Used when a tracker leaves out `interval`: it still answered, so we keep going, with a warning. */
export const DEFAULT_INTERVAL_S = 1800;

/**
 * Parses an announce response body. Throws TrackerError for a failure reason or a body that is not a
 * bencoded dictionary; oddities that still leave a usable answer become `warning`.
 */
export function parseHttpAnnounceResponse(body: Buffer): AnnounceResponse {
  let root: BencodeValue;
  try {
    root = decodeBencode(body);
  } catch (err) {
    const why = err instanceof BencodeError ? err.message : String(err);
    throw new TrackerError(`malformed tracker response (${why})`);
  }
  if (!isDict(root)) throw new TrackerError('malformed tracker response (not a dictionary)');
  const failure = root['failure reason'];
  if (failure !== undefined) {
    throw new TrackerError(`tracker refused: ${failure instanceof Uint8Array ? printable(failure) : 'unspecified failure'}`, true);
  }

  const notes: string[] = [];
  const warning = root['warning message'];
  if (warning instanceof Uint8Array) notes.push(printable(warning));

  let intervalS = root['interval'];
  if (typeof intervalS !== 'number' || intervalS <= 0) {
    notes.push(`tracker sent no valid interval; using ${DEFAULT_INTERVAL_S} s`);
    intervalS = DEFAULT_INTERVAL_S;
  }
  const minInterval = root['min interval'];
  const peers: PeerAddress[] = [];
  collectPeers(root['peers'], 4, peers, notes);
  collectPeers(root['peers6'], 6, peers, notes);

  const res: AnnounceResponse = { intervalS, peers };
  if (typeof minInterval === 'number' && minInterval > 0) res.minIntervalS = minInterval;
  const complete = root['complete'];
  const incomplete = root['incomplete'];
  if (typeof complete === 'number' && complete >= 0) res.complete = complete;
  if (typeof incomplete === 'number' && incomplete >= 0) res.incomplete = incomplete;
  const trackerId = root['tracker id'];
  if (trackerId instanceof Uint8Array && trackerId.length > 0 && trackerId.length <= 256) res.trackerId = asBuffer(trackerId).toString('latin1');
  if (notes.length > 0) res.warning = notes.join('; ');
  return res;
}

function collectPeers(value: BencodeValue | undefined, family: 4 | 6, out: PeerAddress[], notes: string[]): void {
  if (value === undefined) return;
  if (value instanceof Uint8Array) {
    const { peers, leftoverBytes } = parseCompactPeers(asBuffer(value), family);
    out.push(...peers);
    if (leftoverBytes > 0) notes.push(`compact peers${family === 6 ? '6' : ''} list has ${leftoverBytes} stray bytes`);
    return;
  }
  if (Array.isArray(value)) {
    // The original, non-compact form: a list of {peer id, ip, port}.
    let bad = 0;
    for (const entry of value) {
      if (!isDict(entry)) { bad++; continue; }
      const ip = entry['ip'];
      const port = entry['port'];
      const host = ip instanceof Uint8Array ? asBuffer(ip).toString('latin1') : '';
      if (typeof port === 'number' && isValidPeer(host, port)) out.push({ host, port });
      else bad++;
    }
    if (bad > 0) notes.push(`${bad} unusable peer entr${bad === 1 ? 'y' : 'ies'} skipped`);
    return;
  }
  notes.push(`'peers${family === 6 ? '6' : ''}' has an unexpected type`);
}

/** Decoded byte strings are Uint8Array; a Buffer view over the same bytes, no copy. */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Tracker text for logs: UTF-8, control characters replaced, bounded length. */
export function printable(b: Uint8Array): string {
  // eslint-disable-next-line no-control-regex
  return asBuffer(b).subarray(0, 300).toString('utf8').replace(/[\x00-\x1f\x7f]/g, '?');
}
