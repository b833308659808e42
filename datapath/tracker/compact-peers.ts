// BEP 23 compact peer lists: 6 bytes per IPv4 peer (4 address + 2 port), 18 per IPv6 peer (BEP 7).
import { isIP } from 'node:net';
import type { PeerAddress } from './types.js';

/** Parses a compact list; a trailing partial entry is ignored (and reported through the return value). */
export function parseCompactPeers(buf: Buffer, family: 4 | 6): { peers: PeerAddress[]; leftoverBytes: number } {
  const size = family === 4 ? 6 : 18;
  const peers: PeerAddress[] = [];
  const whole = buf.length - (buf.length % size);
  for (let off = 0; off < whole; off += size) {
    const port = buf.readUInt16BE(off + size - 2);
    if (port === 0) continue;
    const host = family === 4 ? `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}` : ipv6ToString(buf.subarray(off, off + 16));
    peers.push({ host, port });
  }
  return { peers, leftoverBytes: buf.length - whole };
}

function ipv6ToString(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(':');
}

/** Encodes IPv4 peers compactly; peers that are not dotted IPv4 addresses are skipped. */
export function encodeCompactPeers4(peers: readonly PeerAddress[]): Buffer {
  const out = Buffer.alloc(peers.length * 6);
  let off = 0;
  for (const p of peers) {
    if (isIP(p.host) !== 4) continue;
    const parts = p.host.split('.');
    for (let i = 0; i < 4; i++) out[off + i] = Number(parts[i]);
    out.writeUInt16BE(p.port, off + 4);
    off += 6;
  }
  return out.subarray(0, off);
}

/** Encodes IPv6 peers compactly (18 bytes each); IPv4 peers are skipped. */
export function encodeCompactPeers6(peers: readonly PeerAddress[]): Buffer {
  const out: Buffer[] = [];
  for (const p of peers) {
    const addr = ipv6ToBytes(p.host);
    if (!addr) continue;
    const entry = Buffer.alloc(18);
    addr.copy(entry, 0);
    entry.writeUInt16BE(p.port, 16);
    out.push(entry);
  }
  return Buffer.concat(out);
}

function ipv6ToBytes(host: string): Buffer | null {
  if (isIP(host) !== 6 || host.includes('.')) return null;
  const [head, tail] = host.includes('::') ? host.split('::') as [string, string] : [host, undefined];
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return null;
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

/** A usable peer address: an IP literal and a port in 1..65535. */
export function isValidPeer(host: string, port: number): boolean {
  return isIP(host) !== 0 && Number.isInteger(port) && port > 0 && port < 65536;
}
