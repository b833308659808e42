// The tracker's memory: per torrent, the peers that announced recently. Peers are keyed by
// address:port (what other peers dial), expire after a TTL, and `stopped` removes them at once.
import type { PeerAddress } from '../datapath/tracker/types.js';

export interface StoredPeer extends PeerAddress {
  peerId: Buffer;
  left: number; // bytes; 0 = seeder
  lastSeenMs: number;
}

export interface SwarmCounts { seeders: number; leechers: number; completed: number }

interface Swarm { peers: Map<string, StoredPeer>; completed: number }

export interface AnnounceInput {
  infoHashHex: string;
  peerId: Buffer;
  host: string;
  port: number;
  left: number;
  event: '' | 'started' | 'completed' | 'stopped';
  numwant: number;
}

export interface AnnounceResult { peers: StoredPeer[]; seeders: number; leechers: number }

export const MAX_NUMWANT = 200;

export class SwarmStore {
  private readonly swarms = new Map<string, Swarm>();

  constructor(private readonly peerTtlMs: number) {}

  announce(a: AnnounceInput, nowMs = Date.now()): AnnounceResult {
    let swarm = this.swarms.get(a.infoHashHex);
    const key = `${a.host}:${a.port}`;
    if (a.event === 'stopped') {
      if (swarm) {
        swarm.peers.delete(key);
        if (swarm.peers.size === 0 && swarm.completed === 0) this.swarms.delete(a.infoHashHex);
      }
      return { peers: [], ...(swarm ? this.countLive(swarm, nowMs) : { seeders: 0, leechers: 0 }) };
    }
    if (!swarm) {
      swarm = { peers: new Map(), completed: 0 };
      this.swarms.set(a.infoHashHex, swarm);
    }
    if (a.event === 'completed') swarm.completed++;
    swarm.peers.set(key, { host: a.host, port: a.port, peerId: a.peerId, left: a.left, lastSeenMs: nowMs });
    const counts = this.countLive(swarm, nowMs);
    return { peers: this.pick(swarm, key, Math.max(0, Math.min(a.numwant, MAX_NUMWANT)), a.left === 0, nowMs), ...counts };
  }

  /** A random subset of live peers, never the asker; seeders are not handed to a seeder. */
  private pick(swarm: Swarm, askerKey: string, n: number, askerIsSeed: boolean, nowMs: number): StoredPeer[] {
    const candidates: StoredPeer[] = [];
    for (const [key, p] of swarm.peers) {
      if (key === askerKey || this.expired(p, nowMs)) continue;
      if (askerIsSeed && p.left === 0) continue;
      candidates.push(p);
    }
    // Partial Fisher-Yates: only the first n places are shuffled.
    const k = Math.min(n, candidates.length);
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(Math.random() * (candidates.length - i));
      [candidates[i], candidates[j]] = [candidates[j]!, candidates[i]!];
    }
    return candidates.slice(0, k);
  }

  scrape(infoHashHex: string, nowMs = Date.now()): SwarmCounts {
    const swarm = this.swarms.get(infoHashHex);
    if (!swarm) return { seeders: 0, leechers: 0, completed: 0 };
    return { ...this.countLive(swarm, nowMs), completed: swarm.completed };
  }

  /** Drops expired peers and empty swarms. */
  expire(nowMs = Date.now()): void {
    for (const [hash, swarm] of this.swarms) {
      for (const [key, p] of swarm.peers) if (this.expired(p, nowMs)) swarm.peers.delete(key);
      if (swarm.peers.size === 0 && swarm.completed === 0) this.swarms.delete(hash);
    }
  }

  all(nowMs = Date.now()): Map<string, SwarmCounts> {
    const out = new Map<string, SwarmCounts>();
    for (const [hash, swarm] of this.swarms) out.set(hash, { ...this.countLive(swarm, nowMs), completed: swarm.completed });
    return out;
  }

  private countLive(swarm: Swarm, nowMs: number): { seeders: number; leechers: number } {
    let seeders = 0;
    let leechers = 0;
    for (const p of swarm.peers.values()) {
      if (this.expired(p, nowMs)) continue;
      if (p.left === 0) seeders++;
      else leechers++;
    }
    return { seeders, leechers };
  }

  private expired(p: StoredPeer, nowMs: number): boolean {
    return nowMs - p.lastSeenMs > this.peerTtlMs;
  }
}
