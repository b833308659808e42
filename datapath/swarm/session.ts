// A session: one process's BitTorrent engine. One listening socket routes incoming connections to
// torrents by info-hash; global upload/download caps; one timer ticks every torrent; flows are
// exposed to the control plane (FlowSource). Added torrents are checked a few at a time (a bounded
// queue), each serving as soon as its own check is done, and their first announces are spread out.
import { EventEmitter } from 'node:events';
import net, { type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Metainfo } from '../metainfo/metainfo.js';
import { Storage } from '../storage/storage.js';
import { FilePool } from '../storage/file-pool.js';
import { Pacer, TokenBucket } from '../flow/token-bucket.js';
import type { ControlledFlow, FlowEventSink, FlowSource } from '../flow/flow-api.js';
import { EVENT_BANK_SIZE } from '../program/schema.js';
import { monoUs } from '../flow/clock.js';
import { BLOCK_SIZE } from '../wire/messages.js';
import { encodeHandshake } from '../wire/handshake.js';
import { readHandshake } from '../peer/handshaker.js';
import { hostOfBlameKey } from '../peer/peer.js';
import { SocketReads } from '../peer/socket-reads.js';
import { DEFAULT_TIMEOUTS, type EngineContext, type EngineTimeouts } from '../peer/peer-owner.js';
import type { PeerAddress } from '../tracker/announcer.js';
import { AnnounceSpread } from '../tracker/announce-spread.js';
import { BAN_AFTER_FAILURES, Torrent, type TorrentHost, type TorrentOptions } from './torrent.js';

export const CLIENT_NAME = 'ccp-bt 0.1';
/** Azureus-style peer id prefix. */
const PEER_ID_PREFIX = '-CB0001-';
/** Connections still in their handshake; more are refused (a flood must not exhaust the process). */
const MAX_PENDING = 512;
/** Torrents whose existing data is hashed at the same time (each reads ahead one piece). */
const DEFAULT_CHECK_CONCURRENCY = 4;
/** First announces: one torrent per 10 ms (100/s), so 5,000 torrents announce over ~50 s. */
const DEFAULT_ANNOUNCE_SPACING_MS = 10;
/**
 * Each torrent still ticks once a second, but the torrents are ticked in this many slices spread over
 * the second, so thousands of torrents never hold the loop for one long tick.
 */
const TICK_SLICES = 10;

export interface SessionOptions {
  /** Address to listen on (default 0.0.0.0). */
  host?: string;
  /** Port to listen on; 0 = any free port (default). */
  port?: number;
  /** Global caps, bytes/s; 0 = none. */
  maxUpBps?: number;
  maxDownBps?: number;
  peerId?: Buffer;
  maxPeersPerTorrent?: number;
  uploadSlots?: number;
  /** Open file handles shared by all torrents. */
  maxOpenFiles?: number;
  log?: (message: string) => void;
  /** Override timeouts (tests); see DEFAULT_TIMEOUTS. */
  timeouts?: Partial<EngineTimeouts>;
  /** Torrents checked at once when added (default 4); the rest wait their turn. */
  checkConcurrency?: number;
  /**
   * Spacing of first announces, ms per torrent (default 10): torrents added together announce over
   * N × this, each at a random point of its slot; 0 = at once.
   */
  announceSpacingMs?: number;
}

/** Torrents being checked or waiting to be, and those done (since the session began). */
export interface CheckStatus {
  queued: number;
  checking: number;
  checked: number;
  failed: number;
}

/** A torrent not yet serving: its data is waiting to be (or being) checked. */
interface PendingCheck {
  name: string;
  cancelled: boolean;
  storage: Storage | null;
  settled: Promise<unknown>;
}

/** At most `limit` holders at once; the others wait in order. */
class Slots {
  private busy = 0;
  private readonly waiting: (() => void)[] = [];
  private head = 0;

  constructor(private readonly limit: number) {}

  get inUse(): number {
    return this.busy;
  }

  acquire(): Promise<void> {
    if (this.busy < this.limit) {
      this.busy++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Hands the slot straight to the next waiter, if any. */
  release(): void {
    if (this.head < this.waiting.length) {
      const next = this.waiting[this.head]!;
      this.waiting[this.head++] = undefined as unknown as () => void;
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting.splice(0, this.head);
        this.head = 0;
      }
      next();
    } else {
      this.busy--;
    }
  }
}

export interface AddTorrentOptions extends TorrentOptions {
  /** Called while existing data is checked (resume). */
  onVerify?: (checked: number, total: number) => void;
}

export class Session extends EventEmitter implements FlowSource, TorrentHost {
  readonly peerId: Buffer;
  readonly context: EngineContext & { sink: FlowEventSink | null; listenPort: number };
  readonly torrents = new Map<string, Torrent>();
  private server: net.Server | null = null;
  private readonly pool: FilePool;
  private readonly timer: NodeJS.Timeout;
  private flowIds = 1;
  private readonly blames = new Map<string, number>();
  /**
   * Addresses whose peer was banned. A liar can come back with a new peer id, so its address is banned
   * too, except on loopback, where a local swarm's peers all share one address.
   */
  private readonly bannedHosts = new Set<string>();
  private readonly pending = new Set<Socket>();
  private readonly checks = new Map<string, PendingCheck>();
  private readonly checkSlots: Slots;
  private checkedCount = 0;
  private failedCount = 0;
  private readonly spread: AnnounceSpread;
  private readonly startTimers = new Map<string, NodeJS.Timeout>();
  private tickRound: IterableIterator<Torrent> | null = null;
  private tickSliceIndex = 0;
  private tickedInRound = 0;
  private closed = false;

  constructor(private readonly opts: SessionOptions = {}) {
    super();
    this.peerId = opts.peerId ?? Buffer.concat([Buffer.from(PEER_ID_PREFIX), randomBytes(12)]);
    if (this.peerId.length !== 20) throw new RangeError('peer id must be 20 bytes');
    const log = opts.log ?? (() => undefined);
    const burst = (bps: number): number => Math.max(2 * BLOCK_SIZE, Math.round(bps / 20));
    this.context = {
      timeouts: { ...DEFAULT_TIMEOUTS, ...opts.timeouts },
      sink: null,
      eventBank: new Float64Array(EVENT_BANK_SIZE),
      upBucket: new TokenBucket(opts.maxUpBps ?? 0, burst(opts.maxUpBps ?? 0)),
      downBucket: new TokenBucket(opts.maxDownBps ?? 0, burst(opts.maxDownBps ?? 0)),
      pacer: new Pacer({ clock: monoUs }),
      clientName: CLIENT_NAME,
      listenPort: 0,
      log,
    };
    this.pool = new FilePool(opts.maxOpenFiles ?? 128);
    // A warning, not a log line: a slow disk is worth telling an operator (`--json` and `-v` show it).
    const moved = (what: string) => (tookMs: number, holdMs: number): void =>
      void this.emit('warning', `disk: a piece ${what} took ${tookMs.toFixed(1)} ms; ${what}s run in the thread pool for the next ${holdMs / 1000} s`);
    this.pool.reads.onMove = moved('read');
    this.pool.writes.onMove = moved('write');
    const concurrency = opts.checkConcurrency ?? DEFAULT_CHECK_CONCURRENCY;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`checkConcurrency must be a positive integer, got ${concurrency}`);
    this.checkSlots = new Slots(concurrency);
    this.spread = new AnnounceSpread(opts.announceSpacingMs ?? DEFAULT_ANNOUNCE_SPACING_MS);
    this.timer = setInterval(() => this.tickSlice(), 1000 / TICK_SLICES);
  }

  /** The session's file handles and its read/write policies (for stats: open files, moves to the thread pool). */
  get filePool(): FilePool {
    return this.pool;
  }

  get port(): number {
    return this.context.listenPort;
  }

  /** Starts accepting peers (default: the options' port and host); resolves to the port. */
  async listen(port = this.opts.port ?? 0, host = this.opts.host ?? '0.0.0.0'): Promise<number> {
    if (this.server) return this.port;
    // Paused until adopted onto the shared read buffer (SocketReads.adoptAccepted).
    const server = net.createServer({ noDelay: true, pauseOnConnect: true }, (s) => this.onIncoming(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.context.log(`listener: ${err.message}`));
    this.server = server;
    this.context.listenPort = (server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** Global caps can change while running. */
  setLimits(limits: { maxUpBps?: number; maxDownBps?: number }): void {
    const now = monoUs();
    if (limits.maxUpBps !== undefined) {
      this.context.upBucket.setBurst(Math.max(2 * BLOCK_SIZE, Math.round(limits.maxUpBps / 20)));
      this.context.upBucket.setRate(limits.maxUpBps, now);
    }
    if (limits.maxDownBps !== undefined) {
      this.context.downBucket.setBurst(Math.max(2 * BLOCK_SIZE, Math.round(limits.maxDownBps / 20)));
      this.context.downBucket.setRate(limits.maxDownBps, now);
    }
  }

  /**
   * Adds a torrent whose data lives in `dir` (created as needed): waits for a check slot, checks what
   * is already there, then serves it at once; its first announce comes at its slot of the announce
   * spread. Refuses a second copy of the same info-hash (added or still being checked). Rejects if the
   * torrent is removed (or the session closed) before its check is done.
   */
  async addTorrent(meta: Metainfo, dir: string, opts: AddTorrentOptions = {}): Promise<Torrent> {
    if (this.closed) throw new Error('session is closed');
    const hex = meta.infoHashHex;
    if (this.torrents.has(hex) || this.checks.has(hex)) throw new Error(`torrent ${hex} (${meta.name}) is already added`);
    let settle: (v: unknown) => void = () => undefined;
    const check: PendingCheck = { name: meta.name, cancelled: false, storage: null, settled: new Promise((r) => (settle = r)) };
    this.checks.set(hex, check);
    let storage: Storage | null = null;
    try {
      await this.checkSlots.acquire();
      try {
        if (!check.cancelled) {
          storage = await Storage.open(meta, dir, { pool: this.pool });
          check.storage = storage;
          if (!check.cancelled) await storage.verifyExisting(opts.onVerify);
        }
      } finally {
        this.checkSlots.release();
      }
      if (check.cancelled || this.closed) throw new Error(`torrent ${hex} (${meta.name}) was removed before its check was done`);
    } catch (err) {
      this.failedCount++;
      await storage?.close().catch(() => undefined);
      throw err;
    } finally {
      if (this.checks.get(hex) === check) this.checks.delete(hex);
      settle(undefined);
    }
    this.checkedCount++;
    const torrent = new Torrent(this, meta, storage!, {
      maxPeers: this.opts.maxPeersPerTorrent,
      uploadSlots: this.opts.uploadSlots,
      ...opts,
    });
    this.torrents.set(hex, torrent);
    torrent.on('complete', () => this.emit('complete', torrent));
    torrent.on('warning', (m: string) => this.emit('warning', `${torrent.name}: ${m}`));
    this.startSpread(torrent, opts.announce !== false && meta.announce.length > 0);
    this.emit('torrent-added', torrent);
    return torrent;
  }

  /** Serves at once (incoming peers are routed as soon as it is in `torrents`); announces at its slot. */
  private startSpread(torrent: Torrent, announces: boolean): void {
    const delayMs = announces ? this.spread.nextDelayMs() : 0;
    if (delayMs === 0) {
      torrent.start();
      return;
    }
    const hex = torrent.infoHashHex;
    const timer = setTimeout(() => {
      this.startTimers.delete(hex);
      if (!this.closed && this.torrents.get(hex) === torrent) torrent.start();
    }, delayMs);
    this.startTimers.set(hex, timer);
  }

  /** Where the checks of added torrents stand. */
  checkStatus(): CheckStatus {
    const checking = this.checkSlots.inUse;
    return { queued: this.checks.size - checking, checking, checked: this.checkedCount, failed: this.failedCount };
  }

  /** Milliseconds until every torrent added so far has made its first announce (the spread's backlog). */
  announceBacklogMs(): number {
    return this.spread.backlogMs();
  }

  /** Removes a torrent, serving or still waiting for its check (whose addTorrent then rejects). */
  async removeTorrent(infoHashHex: string): Promise<void> {
    const check = this.checks.get(infoHashHex);
    if (check) {
      check.cancelled = true;
      this.checks.delete(infoHashHex);
      await check.storage?.close().catch(() => undefined); // stops a check in progress
      await check.settled;
      return;
    }
    const t = this.torrents.get(infoHashHex);
    if (!t) return;
    this.torrents.delete(infoHashHex);
    const timer = this.startTimers.get(infoHashHex);
    if (timer) clearTimeout(timer);
    this.startTimers.delete(infoHashHex);
    await t.close();
  }

  // ---- FlowSource ----

  setFlowSink(sink: FlowEventSink | null): void {
    this.context.sink = sink;
  }

  *liveFlows(): Iterable<ControlledFlow> {
    for (const t of this.torrents.values()) for (const p of t.peers) if (!p.closed) yield p;
  }

  // ---- TorrentHost ----

  nextFlowId(): number {
    return this.flowIds++;
  }

  isBanned(blameKey: string): boolean {
    return (this.blames.get(blameKey) ?? 0) >= BAN_AFTER_FAILURES || this.bannedHosts.has(hostOfBlameKey(blameKey));
  }

  ban(blameKey: string): void {
    this.blames.set(blameKey, Math.max(BAN_AFTER_FAILURES, this.blames.get(blameKey) ?? 0));
    this.banHost(blameKey);
  }

  blame(blameKey: string): number {
    const n = (this.blames.get(blameKey) ?? 0) + 1;
    this.blames.set(blameKey, n);
    if (n >= BAN_AFTER_FAILURES) this.banHost(blameKey);
    return n;
  }

  private banHost(blameKey: string): void {
    const host = hostOfBlameKey(blameKey);
    if (!isLoopback(host)) this.bannedHosts.add(host);
  }

  dial(torrent: Torrent, addr: PeerAddress): void {
    if (this.closed) return;
    const { reads, onread } = SocketReads.sharedBuffer();
    const socket = net.connect({ host: addr.host, port: addr.port, noDelay: true, onread });
    this.pending.add(socket);
    socket.on('error', () => undefined); // every failure is reported through fail() or the peer
    let settled = false; // once the peer owns the socket, its own handlers report failures
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      this.pending.delete(socket);
      socket.destroy();
      torrent.dialFailed(addr, why);
    };
    const connectTimer = setTimeout(() => fail('connect timeout'), this.context.timeouts.handshakeMs);
    socket.once('close', () => clearTimeout(connectTimer)); // destroyed by close(): no timer left behind
    socket.once('error', (err) => {
      clearTimeout(connectTimer);
      fail(err.message);
    });
    socket.once('connect', () => {
      clearTimeout(connectTimer);
      socket.write(encodeHandshake(torrent.infoHash, this.peerId));
      readHandshake(socket, reads, this.context.timeouts.handshakeMs).then(
        ({ handshake, parser }) => {
          if (!handshake.infoHash.equals(torrent.infoHash)) {
            fail('peer answered with another info-hash');
            return;
          }
          if (settled) return;
          settled = true;
          this.pending.delete(socket);
          torrent.dialDone(addr);
          torrent.attach({ socket, reads, parser }, handshake, false, addr);
        },
        (err: Error) => fail(`handshake: ${err.message}`),
      );
    });
  }

  private onIncoming(accepted: Socket): void {
    if (this.closed || this.pending.size >= MAX_PENDING) {
      accepted.destroy();
      return;
    }
    const { socket, reads } = SocketReads.adoptAccepted(accepted);
    this.pending.add(socket);
    socket.on('error', () => undefined); // reported through the handshake or the peer
    readHandshake(socket, reads, this.context.timeouts.handshakeMs).then(
      ({ handshake, parser }) => {
        this.pending.delete(socket);
        const torrent = this.torrents.get(handshake.infoHash.toString('hex'));
        if (!torrent) {
          this.context.log(`refused ${socket.remoteAddress}:${socket.remotePort}: unknown info-hash ${handshake.infoHash.toString('hex')}`);
          socket.destroy();
          return;
        }
        socket.write(encodeHandshake(torrent.infoHash, this.peerId));
        torrent.attach({ socket, reads, parser }, handshake, true);
      },
      (err: Error) => {
        this.pending.delete(socket);
        this.context.log(`incoming ${socket.remoteAddress}:${socket.remotePort}: ${err.message}`);
        socket.destroy();
      },
    );
  }

  /** One slice of the 1 s round: ticks the next share of the torrents (a torrent added mid-round may wait for the next). */
  private tickSlice(): void {
    if (this.tickSliceIndex === 0) {
      this.tickRound = this.torrents.values();
      this.tickedInRound = 0;
    }
    const k = this.tickSliceIndex;
    this.tickSliceIndex = (k + 1) % TICK_SLICES;
    const upTo = Math.ceil((this.torrents.size * (k + 1)) / TICK_SLICES);
    const round = this.tickRound;
    if (!round) return;
    const nowMs = Date.now();
    const nowUs = monoUs();
    while (this.tickedInRound < upTo) {
      const next = round.next();
      if (next.done) {
        this.tickRound = null;
        return;
      }
      this.tickedInRound++;
      const t = next.value;
      try {
        t.tick(nowMs, nowUs);
      } catch (err) {
        this.context.log(`${t.name}: tick failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      }
    }
  }

  /** Stops listening, drops every peer, tells trackers we stopped (bounded), closes files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.server?.close();
    for (const s of this.pending) s.destroy();
    this.pending.clear();
    for (const timer of this.startTimers.values()) clearTimeout(timer);
    this.startTimers.clear();
    const checks = [...this.checks.keys()];
    await Promise.all(checks.map((hex) => this.removeTorrent(hex)));
    await Promise.all([...this.torrents.values()].map((t) => t.close()));
    this.torrents.clear();
    this.context.pacer.close();
    await this.pool.close();
  }
}

function isLoopback(host: string): boolean {
  return host.startsWith('127.') || host === '::1' || host.startsWith('::ffff:127.') || host === 'localhost';
}
