// One UDP tracker announce (BEP 15): connect → connection id (cached for a minute per tracker address) →
// announce, retransmitting after timeoutMs * 2^n up to maxRetries times. Answers are matched by
// transaction id and checked for size; an error action ends the announce with the tracker's message.
// All announces of the process to one tracker address share one connected socket (a UdpLink), so a
// seeder with thousands of torrents uses one socket per tracker, not one per announce.
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
  if (opts.signal?.aborted) throw new TrackerError('announce aborted');
  const exchange = new UdpExchange(await UdpLink.acquire(address, port, family), opts.signal);
  // A connection id from an earlier announce that the tracker refuses (it restarted, with a new secret,
  // or another tracker now has its address) is dropped and the attempt made again with a fresh one, once:
  // such a refusal is about the id, not the announce.
  let staleIdRetried = false;
  try {
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      const timeoutMs = baseTimeoutMs * 2 ** attempt;
      let cached = connectionIds.get(cacheKey);
      let fromCache = true;
      if (!cached || Date.now() - cached.obtainedAtMs > CONNECTION_ID_TTL_MS) {
        fromCache = false;
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
        if (fromCache && !staleIdRetried) {
          staleIdRetried = true;
          attempt--;
          continue;
        }
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

/** How long a link with no announce left stays open (the next announce often follows soon). */
const LINK_IDLE_MS = 5_000;
const links = new Map<string, Promise<UdpLink>>();

/** One connected UDP socket to a tracker address, shared by every announce to it; answers matched by transaction id. */
class UdpLink {
  malformed = 0;
  private readonly waiting = new Map<number, (m: UdpServerMessage | null, err?: TrackerError) => void>();
  private users = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private dead = false;

  private constructor(private readonly key: string, private readonly socket: dgram.Socket) {
    socket.on('message', (msg) => this.onMessage(msg));
    // With a connected socket, an ICMP "port unreachable" arrives here as ECONNREFUSED: every announce
    // waiting on this tracker fails; the next one gets a fresh socket.
    socket.on('error', (err) => this.failAll(new TrackerError(`tracker unreachable: ${err.message}`)));
    socket.unref(); // the engine's own sockets keep the process alive
  }

  static acquire(address: string, port: number, family: 4 | 6): Promise<UdpLink> {
    const key = `${address}|${port}`;
    let link = links.get(key);
    if (!link) {
      link = UdpLink.open(key, address, port, family);
      links.set(key, link);
      link.catch(() => links.delete(key));
    }
    return link.then((l) => {
      l.users++;
      if (l.idleTimer) clearTimeout(l.idleTimer);
      l.idleTimer = null;
      return l;
    });
  }

  private static open(key: string, address: string, port: number, family: 4 | 6): Promise<UdpLink> {
    const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(new TrackerError(`cannot reach tracker: ${err.message}`));
      };
      socket.once('error', onError);
      socket.connect(port, address, () => {
        socket.off('error', onError);
        resolve(new UdpLink(key, socket));
      });
    });
  }

  /** Sends the packet built for a fresh transaction id; resolves with the answer, or null after timeoutMs. */
  request(build: (transactionId: number) => Buffer, timeoutMs: number, signal: AbortSignal | undefined): Promise<UdpServerMessage | null> {
    if (signal?.aborted) return Promise.reject(new TrackerError('announce aborted'));
    let tid = randomBytes(4).readUInt32BE(0);
    while (this.waiting.has(tid)) tid = (tid + 1) >>> 0;
    return new Promise<UdpServerMessage | null>((resolve, reject) => {
      const onAbort = (): void => done(null, new TrackerError('announce aborted'));
      const timer = setTimeout(() => done(null), timeoutMs);
      const done = (m: UdpServerMessage | null, err?: TrackerError): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiting.delete(tid);
        if (err) reject(err);
        else resolve(m);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.set(tid, done);
      this.socket.send(build(tid), (err) => {
        if (err) done(null, new TrackerError(`cannot send to tracker: ${err.message}`));
      });
    });
  }

  release(): void {
    if (--this.users > 0) return;
    if (this.dead) {
      this.close();
      return;
    }
    this.idleTimer = setTimeout(() => {
      if (this.users === 0) this.close();
    }, LINK_IDLE_MS);
    this.idleTimer.unref();
  }

  private onMessage(msg: Buffer): void {
    const decoded = decodeServerMessage(msg);
    if (!decoded) {
      this.malformed++;
      return;
    }
    // A late answer to an earlier (retransmitted) transaction finds nobody waiting and is ignored.
    this.waiting.get(decoded.transactionId)?.(decoded);
  }

  private failAll(err: TrackerError): void {
    if (!this.dead) {
      this.dead = true;
      if (links.get(this.key) !== undefined) links.delete(this.key);
    }
    for (const done of [...this.waiting.values()]) done(null, err);
    if (this.users === 0) this.close();
  }

  private close(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (!this.dead) {
      this.dead = true;
      links.delete(this.key);
    }
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

/** One announce's use of a link: counts malformed datagrams seen meanwhile, releases the link once. */
class UdpExchange {
  private readonly malformedAtStart: number;
  private closed = false;

  constructor(private readonly link: UdpLink, private readonly signal: AbortSignal | undefined) {
    this.malformedAtStart = link.malformed;
  }

  get malformed(): number {
    return this.link.malformed - this.malformedAtStart;
  }

  request(build: (transactionId: number) => Buffer, timeoutMs: number): Promise<UdpServerMessage | null> {
    return this.link.request(build, timeoutMs, this.signal);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.link.release();
  }
}

/** Open tracker links (for tests and the seeder bench). */
export function openUdpLinks(): number {
  return links.size;
}
