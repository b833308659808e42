// What HTTP and UDP announces share: validation, the whitelist, which address a peer is listed under,
// and the swarm store.
import { isIP } from 'node:net';
import { SwarmStore, type AnnounceResult, type SwarmCounts } from './swarm-store.js';
import type { AnnounceEvent } from '../datapath/tracker/types.js';

export interface AnnounceSeen {
  transport: 'http' | 'udp';
  infoHashHex: string;
  host: string;
  port: number;
  event: AnnounceEvent;
  left: number;
  /** Totals the client reports for this torrent (bytes; 0 when it sent none). Not checked: clients may lie. */
  uploaded: number;
  downloaded: number;
}

export interface CoreAnnounce {
  transport: 'http' | 'udp';
  infoHash: Buffer;
  peerId: Buffer;
  sourceHost: string;
  /** The `ip` a client asked to be listed under; honoured only when it is loopback (local swarms). */
  claimedHost?: string;
  port: number;
  left: number;
  /** Reported totals in bytes, when the announce had them. */
  uploaded?: number;
  downloaded?: number;
  event: AnnounceEvent;
  numwant: number;
}

export type CoreAnswer = { failure: string } | ({ failure?: undefined } & AnnounceResult);

export const DEFAULT_NUMWANT = 50;

export class TrackerCore {
  readonly store: SwarmStore;
  private readonly whitelist: Set<string> | null;

  constructor(
    readonly intervalS: number,
    peerTtlS: number,
    whitelist: readonly Buffer[] | undefined,
    private readonly onAnnounce?: (seen: AnnounceSeen) => void,
  ) {
    this.store = new SwarmStore(peerTtlS * 1000);
    this.whitelist = whitelist ? new Set(whitelist.map((h) => h.toString('hex'))) : null;
  }

  isAllowed(infoHash: Buffer): boolean {
    return !this.whitelist || this.whitelist.has(infoHash.toString('hex'));
  }

  announce(a: CoreAnnounce): CoreAnswer {
    if (a.infoHash.length !== 20) return { failure: 'invalid info_hash (must be 20 bytes)' };
    if (a.peerId.length !== 20) return { failure: 'invalid peer_id (must be 20 bytes)' };
    if (!Number.isInteger(a.port) || a.port < 1 || a.port > 65535) return { failure: 'invalid port' };
    if (!this.isAllowed(a.infoHash)) return { failure: 'torrent not registered with this tracker' };
    const host = listedHost(a.sourceHost, a.claimedHost);
    const infoHashHex = a.infoHash.toString('hex');
    const left = Number.isFinite(a.left) && a.left > 0 ? a.left : 0;
    const numwant = Number.isInteger(a.numwant) && a.numwant >= 0 ? a.numwant : DEFAULT_NUMWANT;
    const result = this.store.announce({ infoHashHex, peerId: a.peerId, host, port: a.port, left, event: a.event, numwant });
    this.onAnnounce?.({ transport: a.transport, infoHashHex, host, port: a.port, event: a.event, left, uploaded: byteCount(a.uploaded), downloaded: byteCount(a.downloaded) });
    return result;
  }

  scrape(infoHash: Buffer): SwarmCounts {
    return this.store.scrape(infoHash.toString('hex'));
  }
}

/** A reported byte total: a finite non-negative number, else 0. */
function byteCount(n: number | undefined): number {
  return n !== undefined && Number.isFinite(n) && n > 0 ? n : 0;
}

/** IPv4-mapped IPv6 (::ffff:127.0.0.1) is listed as plain IPv4. */
export function normaliseHost(host: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  return m ? m[1]! : host;
}

function listedHost(source: string, claimed: string | undefined): string {
  const src = normaliseHost(source);
  if (claimed !== undefined) {
    const c = normaliseHost(claimed.trim());
    if (isLoopback(c)) return c;
  }
  return src;
}

export function isLoopback(host: string): boolean {
  return (isIP(host) === 4 && host.startsWith('127.')) || host === '::1';
}
