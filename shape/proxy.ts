// The shaping proxy: a SOCKS5 listener for the client's outgoing peer connections and forwarding
// listeners for incoming ones. Every tunnel becomes a ShapedFlow; the proxy is a FlowSource, so the
// control plane steers it like the engine. Total caps (like trickle -u/-d) apply to every byte of
// payload that passes, BitTorrent or not.
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import type { ControlledFlow, FlowEventSink, FlowSource } from '../datapath/flow/flow-api.js';
import { EVENT_BANK_SIZE } from '../datapath/program/schema.js';
import { BLOCK_SIZE } from '../datapath/wire/index.js';
import { Pacer, TokenBucket, nowUs } from '../datapath/flow/token-bucket.js';
import { negotiateSocks5 } from './socks5-session.js';
import type { Credentials } from './socks5-parser.js';
import { SHAPE_BUCKET_OPTIONS, ShapedFlow, type ShapeContext } from './shaped-flow.js';
import { TorrentTable } from './torrent-table.js';

export interface ForwardSpec {
  /** Where the proxy listens for incoming peers. */
  readonly listenHost: string;
  readonly listenPort: number;
  /** Where the local client listens; each incoming peer is relayed there. */
  readonly clientHost: string;
  readonly clientPort: number;
}

export interface ShapeProxyOptions {
  /** SOCKS5 listener (null = no SOCKS listener). */
  readonly socks: { host: string; port: number } | null;
  readonly forwards?: readonly ForwardSpec[];
  readonly credentials?: Credentials;
  /** Total upload (client → peers) payload cap, bytes/s; 0 = none. */
  readonly maxUpBps?: number;
  /** Total download (peers → client) payload cap, bytes/s; 0 = none. */
  readonly maxDownBps?: number;
  /** Per-flow upload rate while no agent steers the flow; 0 = none. */
  readonly ratePerPeerBps?: number;
  /** Per-flow download rate; 0 = none. */
  readonly downPerPeerBps?: number;
  readonly handshakeTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** A tunnel with no bytes either way for this long is closed (BitTorrent keep-alives are 2 min). */
  readonly idleTimeoutMs?: number;
  readonly maxConnections?: number;
  /** Period of the stats refresh (Flow and Torrent banks), ms. */
  readonly statsPeriodMs?: number;
  readonly log?: (line: string) => void;
}

export interface ShapeTotals {
  flowsOpened: number;
  flowsClosed: number;
  opaqueFlows: number;
  socksFailures: number;
  forwardFailures: number;
  bytesUp: number;
  bytesDown: number;
  payloadUp: number;
  payloadDown: number;
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export class ShapingProxy implements FlowSource {
  private readonly servers: Server[] = [];
  private socksServer: Server | null = null;
  private readonly forwardServers: Server[] = [];
  private readonly flows = new Map<number, ShapedFlow>();
  private readonly handshaking = new Set<Socket>();
  private readonly torrents = new TorrentTable();
  private readonly pacer = new Pacer();
  private readonly upCap: TokenBucket;
  private readonly downCap: TokenBucket;
  private readonly eventBank = new Float64Array(EVENT_BANK_SIZE);
  private sink: FlowEventSink | null = null;
  private nextFlowId = 1;
  private timer: NodeJS.Timeout | null = null;
  private readonly ctx: ShapeContext;
  private readonly log: (line: string) => void;
  readonly totals: ShapeTotals = {
    flowsOpened: 0,
    flowsClosed: 0,
    opaqueFlows: 0,
    socksFailures: 0,
    forwardFailures: 0,
    bytesUp: 0,
    bytesDown: 0,
    payloadUp: 0,
    payloadDown: 0,
  };

  private constructor(private readonly opts: ShapeProxyOptions) {
    this.log = opts.log ?? ((line) => process.stderr.write(`shape: ${line}\n`));
    this.upCap = new TokenBucket(opts.maxUpBps ?? 0, BLOCK_SIZE, SHAPE_BUCKET_OPTIONS);
    this.downCap = new TokenBucket(opts.maxDownBps ?? 0, BLOCK_SIZE, SHAPE_BUCKET_OPTIONS);
    const self = this;
    this.ctx = {
      pacer: this.pacer,
      upCap: this.upCap,
      downCap: this.downCap,
      eventBank: this.eventBank,
      defaultUpBps: opts.ratePerPeerBps ?? 0,
      defaultDownBps: opts.downPerPeerBps ?? 0,
      sink: () => self.sink,
      torrentBank: (flow) => self.torrents.bankFor(flow),
      onOpened: (flow) => {
        self.totals.flowsOpened++;
        if (flow.kind === 'opaque') self.totals.opaqueFlows++;
        self.log(`flow ${flow.info.flowId} ${flow.via} ${flow.info.peerHost}:${flow.info.peerPort} ${flow.kind === 'opaque' ? `opaque (${flow.opaqueReason})` : `info-hash ${flow.infoHashHex}`}`);
      },
      onClosed: (flow, reason) => self.flowClosed(flow, reason),
      log: this.log,
    };
  }

  /** Starts the listeners; rejects (and closes what it opened) if one cannot listen. */
  static async start(opts: ShapeProxyOptions): Promise<ShapingProxy> {
    const p = new ShapingProxy(opts);
    try {
      if (opts.socks) p.socksServer = await p.listen(opts.socks.host, opts.socks.port, (s) => p.onSocksClient(s), 'SOCKS5');
      for (const f of opts.forwards ?? []) p.forwardServers.push(await p.listen(f.listenHost, f.listenPort, (s) => p.onForwardPeer(s, f), 'forward'));
    } catch (err) {
      await p.close();
      throw err;
    }
    p.timer = setInterval(() => p.housekeeping(), opts.statsPeriodMs ?? 100);
    p.timer.unref();
    return p;
  }

  get socksAddress(): ListenAddress | null {
    return this.socksServer ? addressOf(this.socksServer) : null;
  }

  get forwardAddresses(): ListenAddress[] {
    return this.forwardServers.map(addressOf);
  }

  // ---- FlowSource ----

  setFlowSink(sink: FlowEventSink | null): void {
    this.sink = sink;
  }

  liveFlows(): Iterable<ControlledFlow> {
    return [...this.flows.values()].filter((f) => f.isOpen);
  }

  /** Every tunnel, classified or not (for status and tests). */
  allFlows(): ShapedFlow[] {
    return [...this.flows.values()];
  }

  /** Changes the total caps while running. */
  setCaps(caps: { maxUpBps?: number; maxDownBps?: number }): void {
    const now = nowUs();
    if (caps.maxUpBps !== undefined) this.upCap.setRate(caps.maxUpBps, now);
    if (caps.maxDownBps !== undefined) this.downCap.setRate(caps.maxDownBps, now);
    for (const f of this.flows.values()) {
      f.up.kick();
      f.down.kick();
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const f of [...this.flows.values()]) f.close('proxy shutting down');
    for (const s of this.handshaking) s.destroy();
    this.handshaking.clear();
    this.pacer.close();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.servers.length = 0;
  }

  // ---- connections ----

  private listen(host: string, port: number, onConn: (s: Socket) => void, what: string): Promise<Server> {
    return new Promise((resolve, reject) => {
      const server = createServer({ pauseOnConnect: true }, (s) => {
        try {
          onConn(s);
        } catch (err) {
          this.log(`${what} connection failed: ${err instanceof Error ? err.message : String(err)}`);
          s.destroy();
        }
      });
      server.once('error', (err) => reject(new Error(`cannot listen for ${what} on ${host}:${port}: ${err.message}`)));
      server.listen(port, host, () => {
        server.removeAllListeners('error');
        server.on('error', (err) => this.log(`${what} listener error: ${err.message}`));
        this.servers.push(server);
        resolve(server);
      });
    });
  }

  private atCapacity(s: Socket): boolean {
    const max = this.opts.maxConnections ?? 1000;
    if (this.flows.size + this.handshaking.size < max) return false;
    this.log(`refusing ${s.remoteAddress}:${s.remotePort}: ${max} connections open`);
    s.destroy();
    return true;
  }

  private onSocksClient(s: Socket): void {
    if (this.atCapacity(s)) return;
    s.setNoDelay(true);
    this.handshaking.add(s);
    s.resume();
    negotiateSocks5(
      s,
      {
        credentials: this.opts.credentials,
        handshakeTimeoutMs: this.opts.handshakeTimeoutMs ?? 10_000,
        connectTimeoutMs: this.opts.connectTimeoutMs ?? 10_000,
      },
      (t) => {
        this.handshaking.delete(s);
        this.addFlow(t.client, t.remote, t.request.host, t.request.port, 'socks', t.early);
      },
      (reason) => {
        this.handshaking.delete(s);
        this.totals.socksFailures++;
        this.log(`SOCKS5 from ${s.remoteAddress}:${s.remotePort}: ${reason}`);
      },
    );
  }

  private onForwardPeer(peer: Socket, f: ForwardSpec): void {
    if (this.atCapacity(peer)) return;
    peer.setNoDelay(true);
    this.handshaking.add(peer);
    const peerHost = peer.remoteAddress ?? '?';
    const peerPort = peer.remotePort ?? 0;
    const client = connect({ host: f.clientHost, port: f.clientPort });
    client.setNoDelay(true);
    client.pause();
    const fail = (reason: string): void => {
      if (!this.handshaking.delete(peer)) return;
      clearTimeout(timer);
      this.totals.forwardFailures++;
      this.log(`forward ${peerHost}:${peerPort} → ${f.clientHost}:${f.clientPort}: ${reason}`);
      client.destroy();
      peer.destroy();
    };
    const timer = setTimeout(() => fail(`client did not accept within ${this.opts.connectTimeoutMs ?? 10_000} ms`), this.opts.connectTimeoutMs ?? 10_000);
    client.once('error', (err) => fail(`cannot reach the client: ${err.message}`));
    peer.once('error', (err) => fail(`peer socket error: ${err.message}`));
    peer.once('close', () => fail('peer hung up before the client answered'));
    client.once('connect', () => {
      if (!this.handshaking.delete(peer)) return;
      clearTimeout(timer);
      client.removeAllListeners('error');
      peer.removeAllListeners('error');
      peer.removeAllListeners('close');
      this.addFlow(client, peer, peerHost, peerPort, 'forward', Buffer.alloc(0));
    });
  }

  private addFlow(client: Socket, remote: Socket, peerHost: string, peerPort: number, via: string, early: Buffer): void {
    const flow = new ShapedFlow(this.nextFlowId++, client, remote, peerHost, peerPort, via, this.ctx);
    this.flows.set(flow.info.flowId, flow);
    if (!flow.isClosed) flow.start(early);
  }

  private flowClosed(flow: ShapedFlow, reason: string): void {
    if (!this.flows.delete(flow.info.flowId)) return;
    this.torrents.remove(flow);
    this.totals.flowsClosed++;
    this.totals.bytesUp += flow.up.bytesForwarded;
    this.totals.bytesDown += flow.down.bytesForwarded;
    this.totals.payloadUp += flow.up.payloadForwarded;
    this.totals.payloadDown += flow.down.payloadForwarded;
    this.log(`flow ${flow.info.flowId} closed: ${reason} (up ${flow.up.bytesForwarded} B, down ${flow.down.bytesForwarded} B)`);
  }

  private housekeeping(): void {
    try {
      const now = nowUs();
      const nowMs = Date.now();
      const idle = this.opts.idleTimeoutMs ?? 300_000;
      for (const f of this.flows.values()) {
        if (nowMs - f.lastActivityMs > idle) {
          f.close(`idle for ${Math.round(idle / 1000)} s`);
          continue;
        }
        if (f.isOpen) f.refreshStats(now);
      }
      this.torrents.refresh();
    } catch (err) {
      this.log(`housekeeping failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

function addressOf(s: Server): ListenAddress {
  const a = s.address() as AddressInfo;
  return { host: a.address, port: a.port };
}
