// HTTP tracker endpoints: /announce (compact or the original dictionary list) and /scrape.
// Every answer is bencoded; bad requests get a `failure reason`, never an exception.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { byteKeyedDict, encodeBencode, type BencodeInput } from '../datapath/bencode.js';
import { encodeCompactPeers4, encodeCompactPeers6 } from '../datapath/tracker/compact-peers.js';
import { parseBinaryQuery } from './query.js';
import type { TrackerCore } from './tracker-core.js';
import type { AnnounceEvent } from '../datapath/tracker/types.js';

const EVENTS = new Set(['', 'started', 'completed', 'stopped', 'empty', 'paused']);
const MAX_SCRAPE_HASHES = 100;

export function makeHttpHandler(core: TrackerCore): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    try {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      const query = parseBinaryQuery(q < 0 ? '' : url.slice(q + 1));
      if (req.method !== 'GET') return send(res, 405, { 'failure reason': 'only GET is supported' });
      if (path === '/announce') return send(res, 200, announce(core, query, req.socket.remoteAddress ?? ''));
      if (path === '/scrape') return send(res, 200, scrape(core, query));
      return send(res, 404, { 'failure reason': 'unknown path (use /announce or /scrape)' });
    } catch (err) {
      send(res, 500, { 'failure reason': `internal error: ${err instanceof Error ? err.message : String(err)}` });
    }
  };
}

function first(query: Map<string, Buffer[]>, name: string): Buffer | undefined {
  return query.get(name)?.[0];
}

function num(query: Map<string, Buffer[]>, name: string): number | undefined {
  const v = first(query, name);
  if (v === undefined) return undefined;
  const text = v.toString('latin1');
  return /^-?\d{1,18}$/.test(text) ? Number(text) : NaN;
}

function announce(core: TrackerCore, query: Map<string, Buffer[]>, source: string): BencodeInput {
  const infoHash = first(query, 'info_hash');
  const peerId = first(query, 'peer_id');
  const port = num(query, 'port');
  if (!infoHash) return { 'failure reason': 'missing info_hash' };
  if (!peerId) return { 'failure reason': 'missing peer_id' };
  if (port === undefined || Number.isNaN(port)) return { 'failure reason': 'missing or invalid port' };
  const eventText = first(query, 'event')?.toString('latin1') ?? '';
  if (!EVENTS.has(eventText)) return { 'failure reason': `unknown event '${eventText.slice(0, 20)}'` };
  const event: AnnounceEvent = eventText === 'started' || eventText === 'completed' || eventText === 'stopped' ? eventText : '';
  const left = num(query, 'left');
  const uploaded = num(query, 'uploaded');
  const downloaded = num(query, 'downloaded');
  const numwant = num(query, 'numwant');
  const ip = first(query, 'ip')?.toString('latin1');
  const answer = core.announce({
    transport: 'http', infoHash, peerId, sourceHost: source, port,
    left: left === undefined || Number.isNaN(left) ? 1 : left, // unknown progress counts as a leecher
    event, numwant: numwant === undefined || Number.isNaN(numwant) ? 50 : numwant,
    ...(uploaded !== undefined ? { uploaded } : {}),
    ...(downloaded !== undefined ? { downloaded } : {}),
    ...(ip !== undefined ? { claimedHost: ip } : {}),
  });
  if (answer.failure !== undefined) return { 'failure reason': answer.failure };
  const out: Record<string, BencodeInput> = {
    interval: core.intervalS,
    'min interval': Math.max(1, Math.floor(core.intervalS / 2)),
    complete: answer.seeders,
    incomplete: answer.leechers,
  };
  const compact = first(query, 'compact')?.toString('latin1') !== '0';
  if (compact) {
    out['peers'] = encodeCompactPeers4(answer.peers);
    const six = encodeCompactPeers6(answer.peers);
    if (six.length > 0) out['peers6'] = six;
  } else {
    const noPeerId = first(query, 'no_peer_id')?.toString('latin1') === '1';
    out['peers'] = answer.peers.map((p) => (noPeerId ? { ip: p.host, port: p.port } : { 'peer id': p.peerId, ip: p.host, port: p.port }));
  }
  return out;
}

function scrape(core: TrackerCore, query: Map<string, Buffer[]>): BencodeInput {
  const hashes = (query.get('info_hash') ?? []).filter((h) => h.length === 20).slice(0, MAX_SCRAPE_HASHES);
  if (hashes.length === 0) return { 'failure reason': 'scrape needs at least one info_hash' };
  // BEP 48: `files` is keyed by the raw 20-byte info-hashes.
  const files: [Buffer, BencodeInput][] = [];
  for (const h of hashes) {
    if (!core.isAllowed(h)) continue;
    const c = core.scrape(h);
    files.push([h, { complete: c.seeders, downloaded: c.completed, incomplete: c.leechers }]);
  }
  return { files: byteKeyedDict(files) };
}

function send(res: ServerResponse, status: number, body: BencodeInput): void {
  const bytes = encodeBencode(body);
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': bytes.length, connection: 'close' });
  res.end(bytes);
}
