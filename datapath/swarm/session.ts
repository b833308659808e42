// A session: one process's BitTorrent engine. One listening socket routes incoming connections to
// torrents by info-hash; global upload/download caps; one timer ticks every torrent; flows are
// exposed to the control plane (FlowSource).
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
import { DEFAULT_TIMEOUTS, type EngineContext, type EngineTimeouts } from '../peer/peer-owner.js';
import type { PeerAddress } from '../tracker/announcer.js';
import { Torrent, type TorrentHost, type TorrentOptions } from './torrent.js';

export const CLIENT_NAME = 'ccp-bt 0.1';
/** Azureus-style peer id prefix. */
const PEER_ID_PREFIX = '-CB0001-';
/** Connections still in their handshake; more are refused (a flood must not exhaust the process). */
const MAX_PENDING = 512;

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
  private readonly pending = new Set<Socket>();
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
    this.timer = setInterval(() => this.tick(), 1000);
  }

  get port(): number {
    return this.context.listenPort;
  }

  /** Starts accepting peers (default: the options' port and host); resolves to the port. */
  async listen(port = this.opts.port ?? 0, host = this.opts.host ?? '0.0.0.0'): Promise<number> {
    if (this.server) return this.port;
    const server = net.createServer({ noDelay: true }, (s) => this.onIncoming(s));
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
   * Adds a torrent whose data lives in `dir` (created as needed): checks what is already there,
   * then starts announcing and dialing. Refuses a second copy of the same info-hash.
   */
  async addTorrent(meta: Metainfo, dir: string, opts: AddTorrentOptions = {}): Promise<Torrent> {
    if (this.closed) throw new Error('session is closed');
    if (this.torrents.has(meta.infoHashHex)) throw new Error(`torrent ${meta.infoHashHex} (${meta.name}) is already added`);
    const storage = await Storage.open(meta, dir, { pool: this.pool });
    await storage.verifyExisting(opts.onVerify);
    if (this.closed) {
      await storage.close();
      throw new Error('session is closed');
    }
    const torrent = new Torrent(this, meta, storage, {
      maxPeers: this.opts.maxPeersPerTorrent,
      uploadSlots: this.opts.uploadSlots,
      ...opts,
    });
    this.torrents.set(meta.infoHashHex, torrent);
    torrent.on('complete', () => this.emit('complete', torrent));
    torrent.on('warning', (m: string) => this.emit('warning', `${torrent.name}: ${m}`));
    torrent.start();
    this.emit('torrent-added', torrent);
    return torrent;
  }

  async removeTorrent(infoHashHex: string): Promise<void> {
    const t = this.torrents.get(infoHashHex);
    if (!t) return;
    this.torrents.delete(infoHashHex);
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
    return (this.blames.get(blameKey) ?? 0) >= 3;
  }

  blame(blameKey: string): number {
    const n = (this.blames.get(blameKey) ?? 0) + 1;
    this.blames.set(blameKey, n);
    return n;
  }

  dial(torrent: Torrent, addr: PeerAddress): void {
    if (this.closed) return;
    const socket = net.connect({ host: addr.host, port: addr.port, noDelay: true });
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
      readHandshake(socket, this.context.timeouts.handshakeMs).then(
        ({ handshake, parser }) => {
          if (!handshake.infoHash.equals(torrent.infoHash)) {
            fail('peer answered with another info-hash');
            return;
          }
          if (settled) return;
          settled = true;
          this.pending.delete(socket);
          torrent.dialDone(addr);
          torrent.attach(socket, parser, handshake, false, addr);
        },
        (err: Error) => fail(`handshake: ${err.message}`),
      );
    });
  }

  private onIncoming(socket: Socket): void {
    if (this.closed || this.pending.size >= MAX_PENDING) {
      socket.destroy();
      return;
    }
    this.pending.add(socket);
    socket.on('error', () => undefined); // reported through the handshake or the peer
    readHandshake(socket, this.context.timeouts.handshakeMs).then(
      ({ handshake, parser }) => {
        this.pending.delete(socket);
        const torrent = this.torrents.get(handshake.infoHash.toString('hex'));
        if (!torrent) {
          this.context.log(`refused ${socket.remoteAddress}:${socket.remotePort}: unknown info-hash ${handshake.infoHash.toString('hex')}`);
          socket.destroy();
          return;
        }
        socket.write(encodeHandshake(torrent.infoHash, this.peerId));
        torrent.attach(socket, parser, handshake, true);
      },
      (err: Error) => {
        this.pending.delete(socket);
        this.context.log(`incoming ${socket.remoteAddress}:${socket.remotePort}: ${err.message}`);
        socket.destroy();
      },
    );
  }

  private tick(): void {
    const nowMs = Date.now();
    const nowUs = monoUs();
    for (const t of this.torrents.values()) {
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
    await Promise.all([...this.torrents.values()].map((t) => t.close()));
    this.torrents.clear();
    this.context.pacer.close();
    await this.pool.close();
  }
}
