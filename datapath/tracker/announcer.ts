// Keeps a torrent announced on all its trackers: every tier (BEP 12) is announced independently, trying
// its URLs in (shuffled) order and moving the one that answers to the front. Each tier follows its
// tracker's interval, honours min interval for early announces, and backs off after failures.
// Nothing here throws out: failures become 'warning' events.
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { announceOnce, isSupportedTrackerUrl, type TransportOptions } from './announce.js';
import { TrackerError } from './tracker-error.js';
import type { AnnounceEvent, AnnounceRequest, AnnounceResponse, PeerAddress } from './types.js';

export type { PeerAddress } from './types.js';

export interface AnnounceStats { uploaded: number; downloaded: number; left: number } // bytes

export interface AnnouncerOptions {
  tiers: string[][];
  infoHash: Buffer;
  peerId: Buffer;
  port: number;
  stats: () => AnnounceStats;
  numwant?: number;
  log?: (msg: string) => void;
  /** Per-transport timeouts (defaults: HTTP 15 s; UDP 15 s doubling, 8 retries as BEP 15 says). */
  transport?: TransportOptions;
  /** Spacing of early announces (announceNow) when the tracker sends no min interval. Default 30 s. */
  defaultMinIntervalS?: number;
  /** No tracker interval is taken below this (guards against interval 0). Default 1 s. */
  intervalFloorS?: number;
  /** Backoff after a whole tier fails: retryBaseMs * 2^(failures-1), at most retryMaxMs. Defaults 15 s, 30 min. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Bound on stop() (capped at 3000 ms). */
  stopTimeoutMs?: number;
}

/** What one successful announce brought; emitted as 'announced' (for logs and the world's views). */
export interface AnnounceInfo {
  trackerUrl: string;
  event: AnnounceEvent;
  intervalS: number;
  peers: number;
  seeders?: number;
  leechers?: number;
}

interface Tier {
  urls: string[];
  started: boolean; // a tracker in this tier accepted 'started'
  completedPending: boolean;
  inFlight: boolean;
  timer: NodeJS.Timeout | null;
  nextAtMs: number;
  lastSuccessMs: number;
  minIntervalMs: number;
  failures: number;
  trackerIds: Map<string, string>;
}

const MAX_INTERVAL_S = 24 * 3600;
const STOP_TIMEOUT_CAP_MS = 3000;

export class Announcer extends EventEmitter {
  private readonly tiers: Tier[];
  private readonly key = randomBytes(4).readUInt32BE(0);
  private readonly inflight = new AbortController();
  private running = false;
  private stopped = false;
  private readonly invalidUrls: string[];

  constructor(private readonly opts: AnnouncerOptions) {
    super();
    const seen = new Set<string>();
    this.invalidUrls = [];
    this.tiers = [];
    for (const tier of opts.tiers) {
      const urls: string[] = [];
      for (const raw of tier) {
        const url = String(raw).trim();
        if (!url || seen.has(url)) continue;
        seen.add(url);
        if (isSupportedTrackerUrl(url)) urls.push(url);
        else this.invalidUrls.push(url);
      }
      if (urls.length === 0) continue;
      shuffle(urls);
      this.tiers.push({
        urls, started: false, completedPending: false, inFlight: false, timer: null, nextAtMs: 0,
        lastSuccessMs: 0, minIntervalMs: 0, failures: 0, trackerIds: new Map(),
      });
    }
  }

  /** Announces 'started' on every tier now, then keeps each tier on its tracker's interval. */
  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    // Deferred so listeners attached right after start() still hear about it.
    for (const url of this.invalidUrls) process.nextTick(() => this.warn(`unsupported tracker URL skipped`, url));
    if (this.tiers.length === 0) process.nextTick(() => this.warn('no usable tracker URL', ''));
    for (const tier of this.tiers) this.schedule(tier, 0);
  }

  /** Tells every tier we finished downloading (sent at once; a tier not yet started reports it in 'started'). */
  completed(): void {
    if (this.stopped) return;
    for (const tier of this.tiers) {
      tier.completedPending = true;
      if (this.running && tier.started && !tier.inFlight) this.schedule(tier, 0);
    }
  }

  /** Asks for more peers early, but never before a tier's min interval has passed. */
  announceNow(): void {
    if (!this.running) return;
    const now = Date.now();
    for (const tier of this.tiers) {
      if (tier.inFlight || !tier.started) continue; // not started yet: its (re)try is already scheduled
      const at = Math.max(now, tier.lastSuccessMs + tier.minIntervalMs);
      if (at < tier.nextAtMs) this.schedule(tier, at - now);
    }
  }

  /** Cancels timers and in-flight announces, then sends 'stopped' to every tier that knew us; bounded (≤ 3 s). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.running = false;
    for (const tier of this.tiers) {
      if (tier.timer) clearTimeout(tier.timer);
      tier.timer = null;
    }
    this.inflight.abort();
    const budgetMs = Math.min(this.opts.stopTimeoutMs ?? STOP_TIMEOUT_CAP_MS, STOP_TIMEOUT_CAP_MS);
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), budgetMs);
    const udpTimeoutMs = Math.max(50, Math.min(this.opts.transport?.udp?.timeoutMs ?? budgetMs, budgetMs / 3));
    const transport: TransportOptions = {
      http: { ...this.opts.transport?.http, timeoutMs: budgetMs },
      udp: { ...this.opts.transport?.udp, timeoutMs: udpTimeoutMs, maxRetries: 1 },
    };
    const sends = this.tiers.filter((t) => t.started).map(async (tier) => {
      const url = tier.urls[0]!;
      try {
        await announceOnce(url, this.request('stopped', tier, url), transport, deadline.signal);
        this.opts.log?.(`tracker ${url}: stopped`);
      } catch (err) {
        this.opts.log?.(`tracker ${url}: 'stopped' not delivered: ${errorText(err)}`);
      }
    });
    try {
      await Promise.allSettled(sends);
    } finally {
      clearTimeout(timer);
    }
  }

  private schedule(tier: Tier, delayMs: number): void {
    if (tier.timer) clearTimeout(tier.timer);
    tier.nextAtMs = Date.now() + delayMs;
    tier.timer = setTimeout(() => {
      tier.timer = null;
      void this.runTier(tier);
    }, delayMs);
    // The engine's own sockets keep the process alive; our timers alone should not.
    tier.timer.unref();
  }

  private async runTier(tier: Tier): Promise<void> {
    if (!this.running || tier.inFlight) return;
    tier.inFlight = true;
    const event: AnnounceEvent = !tier.started ? 'started' : tier.completedPending ? 'completed' : '';
    let answered = false;
    for (let i = 0; i < tier.urls.length && this.running; i++) {
      const url = tier.urls[i]!;
      const req = this.request(event, tier, url);
      try {
        const res = await announceOnce(url, req, this.opts.transport ?? {}, this.inflight.signal);
        if (!this.running) break;
        // BEP 12: the tracker that answered goes to the front of its tier.
        tier.urls.splice(i, 1);
        tier.urls.unshift(url);
        this.onSuccess(tier, url, event, req, res);
        answered = true;
        break;
      } catch (err) {
        if (!this.running) break;
        this.warn(`announce${event ? ` (${event})` : ''} failed: ${errorText(err)}`, url);
      }
    }
    tier.inFlight = false;
    if (!this.running || answered) return;
    tier.failures++;
    const base = this.opts.retryBaseMs ?? 15_000;
    // Up to +25 % jitter: torrents whose tracker failed together do not all retry together.
    const delay = Math.round(Math.min(base * 2 ** Math.min(tier.failures - 1, 20), this.opts.retryMaxMs ?? 30 * 60_000) * (1 + 0.25 * Math.random()));
    this.opts.log?.(`tracker tier [${tier.urls.join(' ')}]: all failed, retrying in ${Math.round(delay / 1000)} s`);
    this.schedule(tier, delay);
  }

  private onSuccess(tier: Tier, url: string, event: AnnounceEvent, req: AnnounceRequest, res: AnnounceResponse): void {
    const floorS = this.opts.intervalFloorS ?? 1;
    const intervalMs = clamp(res.intervalS, floorS, MAX_INTERVAL_S) * 1000;
    tier.minIntervalMs = res.minIntervalS !== undefined
      ? Math.min(clamp(res.minIntervalS, floorS, MAX_INTERVAL_S) * 1000, intervalMs)
      : Math.min(intervalMs, (this.opts.defaultMinIntervalS ?? 30) * 1000);
    tier.lastSuccessMs = Date.now();
    tier.failures = 0;
    if (res.trackerId) tier.trackerIds.set(url, res.trackerId);
    if (event === 'started') {
      tier.started = true;
      // Starting with nothing left already tells the tracker we are a seed.
      if (req.left === 0) tier.completedPending = false;
    }
    if (event === 'completed') tier.completedPending = false;
    const info: AnnounceInfo = { trackerUrl: url, event, intervalS: intervalMs / 1000, peers: res.peers.length };
    if (res.complete !== undefined) info.seeders = res.complete;
    if (res.incomplete !== undefined) info.leechers = res.incomplete;
    this.opts.log?.(`tracker ${url}: ${event || 'announce'} ok, ${res.peers.length} peers, next in ${intervalMs / 1000} s`);
    if (res.warning) this.warn(res.warning, url);
    this.emit('announced', info);
    const ours = new Set([`127.0.0.1:${this.opts.port}`]);
    const peers: PeerAddress[] = res.peers.filter((p) => !ours.has(`${p.host}:${p.port}`));
    this.emit('peers', peers, url);
    this.schedule(tier, tier.completedPending ? 0 : intervalMs);
  }

  private request(event: AnnounceEvent, tier: Tier, url: string): AnnounceRequest {
    let stats: AnnounceStats = { uploaded: 0, downloaded: 0, left: 0 };
    try {
      stats = this.opts.stats();
    } catch (err) {
      this.warn(`stats callback failed: ${errorText(err)}`, url);
    }
    const req: AnnounceRequest = {
      infoHash: this.opts.infoHash, peerId: this.opts.peerId, port: this.opts.port,
      uploaded: safeCount(stats.uploaded), downloaded: safeCount(stats.downloaded), left: safeCount(stats.left),
      event, key: this.key, numwant: event === 'stopped' ? 0 : this.opts.numwant ?? 50,
    };
    const trackerId = tier.trackerIds.get(url);
    if (trackerId) req.trackerId = trackerId;
    return req;
  }

  private warn(msg: string, url: string): void {
    this.opts.log?.(`tracker ${url}: ${msg}`);
    this.emit('warning', msg, url);
  }
}

function errorText(err: unknown): string {
  return err instanceof TrackerError || err instanceof Error ? err.message : String(err);
}

function safeCount(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}

function shuffle<T>(a: T[]): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
}
