// One HTTP(S) announce (BEP 3 + BEP 23): builds the query, GETs it with a deadline and a body limit,
// and parses the answer.
import http from 'node:http';
import type HttpsModule from 'node:https';
import { parseHttpAnnounceResponse } from './http-response.js';
import { TrackerError } from './tracker-error.js';
import type { AnnounceOptions, AnnounceRequest, AnnounceResponse } from './types.js';

export const DEFAULT_HTTP_TIMEOUT_MS = 15_000;
export const DEFAULT_MAX_BODY_BYTES = 1 << 20;
const MAX_REDIRECTS = 3;

/** Percent-encodes every byte that is not unreserved (RFC 3986), as binary info_hash/peer_id need. */
export function percentEncodeBytes(b: Buffer): string {
  let out = '';
  for (const byte of b) {
    const unreserved = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
      || byte === 0x2d || byte === 0x2e || byte === 0x5f || byte === 0x7e;
    out += unreserved ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The full announce URL: the tracker's URL (which may carry its own query, e.g. a passkey) plus ours. */
export function buildAnnounceUrl(trackerUrl: string, req: AnnounceRequest): string {
  const params = [
    `info_hash=${percentEncodeBytes(req.infoHash)}`,
    `peer_id=${percentEncodeBytes(req.peerId)}`,
    `port=${req.port}`,
    `uploaded=${Math.max(0, Math.floor(req.uploaded))}`,
    `downloaded=${Math.max(0, Math.floor(req.downloaded))}`,
    `left=${Math.max(0, Math.floor(req.left))}`,
    'compact=1',
    'no_peer_id=1',
    `numwant=${req.numwant ?? 50}`,
    `key=${(req.key >>> 0).toString(16).padStart(8, '0')}`,
  ];
  if (req.event) params.push(`event=${req.event}`);
  if (req.trackerId) params.push(`trackerid=${percentEncodeBytes(Buffer.from(req.trackerId, 'latin1'))}`);
  const hashAt = trackerUrl.indexOf('#');
  const base = hashAt >= 0 ? trackerUrl.slice(0, hashAt) : trackerUrl;
  const sep = base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?';
  return base + sep + params.join('&');
}

export async function announceHttp(trackerUrl: string, req: AnnounceRequest, opts: AnnounceOptions = {}): Promise<AnnounceResponse> {
  const body = await httpGet(buildAnnounceUrl(trackerUrl, req), opts);
  return parseHttpAnnounceResponse(body);
}

/** GETs a URL and returns the body; follows a few redirects; any failure is a TrackerError. */
export function httpGet(url: string, opts: AnnounceOptions = {}): Promise<Buffer> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const deadline = Date.now() + timeoutMs;
  return getOnce(url, deadline, maxBody, opts.signal, 0);
}

/**
 * node:https, loaded on the first https:// announce: with it come TLS and its secure contexts, ~1.5 ms
 * of every process's start, and most trackers a swarm uses are plain HTTP or UDP.
 */
let https: typeof HttpsModule | null = null;

function getOnce(url: string, deadline: number, maxBody: number, signal: AbortSignal | undefined, redirects: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      reject(new TrackerError(`invalid tracker URL '${url}'`));
      return;
    }
    if (parsed.protocol === 'https:' && https === null) {
      import('node:https').then(
        (m) => {
          https = m.default;
          getOnce(url, deadline, maxBody, signal, redirects).then(resolve, reject);
        },
        (err: unknown) => reject(new TrackerError(`https is not available: ${err instanceof Error ? err.message : String(err)}`)),
      );
      return;
    }
    const lib = parsed.protocol === 'http:' ? http : parsed.protocol === 'https:' ? https : null;
    if (!lib) {
      reject(new TrackerError(`unsupported tracker URL scheme '${parsed.protocol}'`));
      return;
    }
    if (signal?.aborted) {
      reject(new TrackerError('announce aborted'));
      return;
    }
    let settled = false;
    const finish = (err: TrackerError | null, body?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      req.destroy();
      if (err) reject(err);
      else resolve(body!);
    };
    const onAbort = (): void => finish(new TrackerError('announce aborted'));
    const timer = setTimeout(() => finish(new TrackerError('tracker did not answer in time (timeout)')), deadlineMsLeft(deadline));
    // agent: false — a fresh connection each time: trackers like opentracker close after one answer
    // without saying so, and a pooled keep-alive socket then fails the next announce with 'socket hang up'.
    const req = lib.get(parsed, { agent: false, headers: { 'user-agent': 'ccp-bt/0.1', 'accept-encoding': 'identity', connection: 'close' } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) return finish(new TrackerError('too many redirects'));
        let next: string;
        try {
          next = new URL(res.headers.location, parsed).toString();
        } catch {
          return finish(new TrackerError('bad redirect location'));
        }
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        getOnce(next, deadline, maxBody, signal, redirects + 1).then(resolve, reject);
        return;
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBody) return finish(new TrackerError(`tracker response too large (${declared} bytes)`));
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBody) return finish(new TrackerError(`tracker response larger than ${maxBody} bytes`));
        chunks.push(chunk);
      });
      res.on('error', (e) => finish(new TrackerError(`tracker connection failed: ${e.message}`)));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        // Trackers often send a bencoded failure reason with a 4xx/5xx: prefer its text.
        if (status !== 200 && !(body.length > 0 && body[0] === 0x64)) return finish(new TrackerError(`tracker answered HTTP ${status}`));
        finish(null, body);
      });
    });
    req.on('error', (e) => finish(new TrackerError(`tracker unreachable: ${e.message}`)));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function deadlineMsLeft(deadline: number): number {
  return Math.max(0, deadline - Date.now());
}
