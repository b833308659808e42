// One UDP tracker announce (BEP 15): connect → connection id (cached for a minute per tracker address) →
// announce, retransmitting after timeoutMs * 2^n up to maxRetries times. Answers are matched by
// transaction id and checked for size; an error action ends the announce with the tracker's message.
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { randomBytes } from 'node:crypto';
import { parseCompactPeers } from './compact-peers.js';
import { TrackerError } from './tracker-error.js';
import { DEFAULT_INTERVAL_S } from './http-response.js';
import {
  decodeServerMessage, encodeAnnounceRequest, encodeConnectRequest, type UdpServerMessage,
} from './udp-messages.js';
import type { AnnounceOptions, AnnounceRequest, AnnounceResponse } from './types.js';

export const DEFAULT_UDP_TIMEOUT_MS = 15_000;
export const DEFAULT_UDP_RETRIES = 8;
/** BEP 15: a client may use a connection id for one minute after receiving it. */
const CONNECTION_ID_TTL_MS = 60_000;

const connectionIds = new Map<string, { id: Buffer; obtainedAtMs: number }>();

export function parseUdpTrackerUrl(url: string): { host: string; port: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TrackerError(`invalid tracker URL '${url}'`);
  }
  if (u.protocol !== 'udp:') throw new TrackerError(`not a UDP tracker URL: '${url}'`);
  const port = Number(u.port);
  if (!u.hostname || !Number.isInteger(port) || port <= 0 || port > 65535) throw new TrackerError(`UDP tracker URL needs a host and port: '${url}'`);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port };
}

export async function announceUdp(trackerUrl: string, req: AnnounceRequest, opts: AnnounceOptions = {}): Promise<AnnounceResponse> {
  const { host, port } = parseUdpTrackerUrl(trackerUrl);
  const baseTimeoutMs = opts.timeoutMs ?? DEFAULT_UDP_TIMEOUT_MS;
  const maxRetries = opts.maxRetries ?? DEFAULT_UDP_RETRIES;
  let address: string;
  let family: 4 | 6;
  try {
    const found = await lookup(host);
    address = found.address;
    family = found.family === 6 ? 6 : 4;
  } catch (err) {
    throw new TrackerError(`cannot resolve tracker host '${host}': ${(err as Error).message}`);
  }
  const cacheKey = `${address}|${port}`;
  const exchange = await UdpExchange.open(address, port, family, opts.signal);
  try {
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      const timeoutMs = baseTimeoutMs * 2 ** attempt;
      let cached = connectionIds.get(cacheKey);
      if (!cached || Date.now() - cached.obtainedAtMs > CONNECTION_ID_TTL_MS) {
        const answer = await exchange.request((tid) => encodeConnectRequest(tid), timeoutMs);
        if (answer === null) continue;
        if (answer.action === 'error') throw new TrackerError(`tracker refused: ${answer.message}`, true);
        if (answer.action !== 'connect') throw new TrackerError(`tracker answered connect with a ${answer.action} message`);
        cached = { id: answer.connectionId, obtainedAtMs: Date.now() };
        connectionIds.set(cacheKey, cached);
      }
      const connectionId = cached.id;
      const answer = await exchange.request((tid) => encodeAnnounceRequest({
        connectionId, transactionId: tid, infoHash: req.infoHash, peerId: req.peerId,
        downloaded: req.downloaded, left: req.left, uploaded: req.uploaded, event: req.event,
        ip: 0, key: req.key, numWant: req.numwant ?? -1, port: req.port,
      }), timeoutMs);
      if (answer === null) {
        // The tracker may have restarted and forgotten our id: get a fresh one on the next try.
        connectionIds.delete(cacheKey);
        continue;
      }
      if (answer.action === 'error') {
        connectionIds.delete(cacheKey);
        throw new TrackerError(`tracker refused: ${answer.message}`, true);
      }
      if (answer.action !== 'announce') throw new TrackerError(`tracker answered announce with a ${answer.action} message`);
      return toAnnounceResponse(answer, family, exchange.malformed);
    }
    throw new TrackerError(`tracker did not answer after ${maxRetries + 1} tries (timeout)`);
  } finally {
    exchange.close();
  }
}

function toAnnounceResponse(a: Extract<UdpServerMessage, { action: 'announce' }>, family: 4 | 6, malformed: number): AnnounceResponse {
  const notes: string[] = [];
  const { peers, leftoverBytes } = parseCompactPeers(a.peerBytes, family);
  if (leftoverBytes > 0) notes.push(`announce answer has ${leftoverBytes} stray bytes`);
  if (malformed > 0) notes.push(`${malformed} malformed datagram(s) ignored`);
  let intervalS = a.intervalS;
  if (intervalS <= 0) {
    notes.push(`tracker sent no valid interval; using ${DEFAULT_INTERVAL_S} s`);
    intervalS = DEFAULT_INTERVAL_S;
  }
  const res: AnnounceResponse = { intervalS, peers, complete: a.seeders, incomplete: a.leechers };
  if (notes.length > 0) res.warning = notes.join('; ');
  return res;
}

/** A connected UDP socket with request/answer matching by transaction id. */
class UdpExchange {
  malformed = 0;
  private waiting: { tid: number; resolve: (m: UdpServerMessage | null) => void } | null = null;
  private failure: TrackerError | null = null;
  private closed = false;

  private constructor(private readonly socket: dgram.Socket, private readonly signal: AbortSignal | undefined) {
    socket.on('message', (msg) => this.onMessage(msg));
    // With a connected socket, an ICMP "port unreachable" arrives here as ECONNREFUSED.
    socket.on('error', (err) => this.fail(new TrackerError(`tracker unreachable: ${err.message}`)));
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  static open(address: string, port: number, family: 4 | 6, signal: AbortSignal | undefined): Promise<UdpExchange> {
    if (signal?.aborted) return Promise.reject(new TrackerError('announce aborted'));
    const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(new TrackerError(`cannot reach tracker: ${err.message}`));
      };
      socket.once('error', onError);
      socket.connect(port, address, () => {
        socket.off('error', onError);
        resolve(new UdpExchange(socket, signal));
      });
    });
  }

  private readonly onAbort = (): void => this.fail(new TrackerError('announce aborted'));

  /** Sends the packet built for a fresh transaction id; resolves with the answer, or null after timeoutMs. */
  request(build: (transactionId: number) => Buffer, timeoutMs: number): Promise<UdpServerMessage | null> {
    if (this.failure) return Promise.reject(this.failure);
    const tid = randomBytes(4).readUInt32BE(0);
    return new Promise<UdpServerMessage | null>((resolve, reject) => {
      const timer = setTimeout(() => done(null), timeoutMs);
      const done = (m: UdpServerMessage | null): void => {
        clearTimeout(timer);
        this.waiting = null;
        if (this.failure) reject(this.failure);
        else resolve(m);
      };
      this.waiting = { tid, resolve: done };
      this.socket.send(build(tid), (err) => {
        if (err) this.fail(new TrackerError(`cannot send to tracker: ${err.message}`));
      });
    });
  }

  private onMessage(msg: Buffer): void {
    const decoded = decodeServerMessage(msg);
    if (!decoded) {
      this.malformed++;
      return;
    }
    // A late answer to an earlier (retransmitted) transaction is ignored.
    if (this.waiting && decoded.transactionId === this.waiting.tid) this.waiting.resolve(decoded);
  }

  private fail(err: TrackerError): void {
    if (this.failure) return;
    this.failure = err;
    this.waiting?.resolve(null);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    try {
      this.socket.close();
    } catch {
      // already closed by an error path
    }
  }
}
