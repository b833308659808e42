// SOCKS5 message parsing and replies (RFC 1928, username/password auth RFC 1929). Pure functions over
// bytes: each parser returns null while more bytes are needed, a value with how many bytes it used, or
// a Socks5Error naming the problem and the reply code to answer with.
import { isIPv4, isIPv6 } from 'node:net';

export const SOCKS_VERSION = 5;
export const AUTH_VERSION = 1;

export enum AuthMethod {
  None = 0x00,
  UserPass = 0x02,
  NoAcceptable = 0xff,
}

export enum Command {
  Connect = 0x01,
  Bind = 0x02,
  UdpAssociate = 0x03,
}

export enum AddrType {
  IPv4 = 0x01,
  Domain = 0x03,
  IPv6 = 0x04,
}

/** Reply codes (RFC 1928 §6). */
export enum Reply {
  Succeeded = 0x00,
  GeneralFailure = 0x01,
  NotAllowed = 0x02,
  NetworkUnreachable = 0x03,
  HostUnreachable = 0x04,
  ConnectionRefused = 0x05,
  TtlExpired = 0x06,
  CommandNotSupported = 0x07,
  AddressTypeNotSupported = 0x08,
}

export class Socks5Error extends Error {
  override readonly name = 'Socks5Error';
  constructor(
    message: string,
    /** What to answer with, when the protocol stage has a reply that can carry it. */
    readonly reply: Reply = Reply.GeneralFailure,
  ) {
    super(message);
  }
}

export interface Parsed<T> {
  readonly value: T;
  /** Bytes of the input this message used (the rest belongs to what follows). */
  readonly used: number;
}

/** Client greeting: VER NMETHODS METHODS… */
export function parseGreeting(buf: Uint8Array): Parsed<readonly number[]> | null {
  if (buf.length < 1) return null;
  if (buf[0] !== SOCKS_VERSION) throw new Socks5Error(`not a SOCKS5 greeting: version byte ${buf[0]} (expected 5)`);
  if (buf.length < 2) return null;
  const n = buf[1]!;
  if (n === 0) throw new Socks5Error('SOCKS5 greeting offers no authentication method');
  if (buf.length < 2 + n) return null;
  return { value: Array.from(buf.subarray(2, 2 + n)), used: 2 + n };
}

export interface Credentials {
  readonly user: string;
  readonly password: string;
}

/** Username/password sub-negotiation: VER ULEN UNAME PLEN PASSWD (RFC 1929). */
export function parseUserPass(buf: Uint8Array): Parsed<Credentials> | null {
  if (buf.length < 1) return null;
  if (buf[0] !== AUTH_VERSION) throw new Socks5Error(`bad username/password auth version ${buf[0]} (expected 1)`);
  if (buf.length < 2) return null;
  const ulen = buf[1]!;
  if (buf.length < 2 + ulen + 1) return null;
  const plen = buf[2 + ulen]!;
  const end = 3 + ulen + plen;
  if (buf.length < end) return null;
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  return { value: { user: b.toString('utf8', 2, 2 + ulen), password: b.toString('utf8', 3 + ulen, end) }, used: end };
}

export interface SocksRequest {
  readonly command: number;
  readonly addrType: AddrType;
  readonly host: string;
  readonly port: number;
}

/** Request: VER CMD RSV ATYP DST.ADDR DST.PORT. Unsupported commands parse (the caller replies 0x07). */
export function parseRequest(buf: Uint8Array): Parsed<SocksRequest> | null {
  if (buf.length < 1) return null;
  if (buf[0] !== SOCKS_VERSION) throw new Socks5Error(`not a SOCKS5 request: version byte ${buf[0]} (expected 5)`);
  if (buf.length < 4) return null;
  const command = buf[1]!;
  if (buf[2] !== 0) throw new Socks5Error(`SOCKS5 request has non-zero reserved byte ${buf[2]}`);
  const atyp = buf[3]!;
  let host: string;
  let end: number;
  switch (atyp) {
    case AddrType.IPv4:
      end = 4 + 4 + 2;
      if (buf.length < end) return null;
      host = Array.from(buf.subarray(4, 8)).join('.');
      break;
    case AddrType.IPv6: {
      end = 4 + 16 + 2;
      if (buf.length < end) return null;
      const groups: string[] = [];
      for (let i = 0; i < 8; i++) groups.push(((buf[4 + 2 * i]! << 8) | buf[5 + 2 * i]!).toString(16));
      host = compressIPv6(groups);
      break;
    }
    case AddrType.Domain: {
      if (buf.length < 5) return null;
      const len = buf[4]!;
      if (len === 0) throw new Socks5Error('SOCKS5 request has an empty domain name', Reply.HostUnreachable);
      end = 5 + len + 2;
      if (buf.length < end) return null;
      host = Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString('latin1', 5, 5 + len);
      if (!/^[A-Za-z0-9.\-_:]+$/.test(host)) throw new Socks5Error(`SOCKS5 request names an invalid host '${printable(host)}'`, Reply.HostUnreachable);
      break;
    }
    default:
      throw new Socks5Error(`SOCKS5 request has unknown address type ${atyp}`, Reply.AddressTypeNotSupported);
  }
  const port = (buf[end - 2]! << 8) | buf[end - 1]!;
  return { value: { command, addrType: atyp, host, port }, used: end };
}

/** Method selection reply: VER METHOD. */
export function encodeMethodReply(method: AuthMethod): Buffer {
  return Buffer.from([SOCKS_VERSION, method]);
}

/** Username/password status: VER STATUS (0 = success). */
export function encodeAuthReply(ok: boolean): Buffer {
  return Buffer.from([AUTH_VERSION, ok ? 0 : 1]);
}

/** Request reply: VER REP RSV ATYP BND.ADDR BND.PORT. */
export function encodeReply(reply: Reply, bindHost = '0.0.0.0', bindPort = 0): Buffer {
  if (isIPv6(bindHost)) {
    const b = Buffer.alloc(4 + 16 + 2);
    b.set([SOCKS_VERSION, reply, 0, AddrType.IPv6]);
    ipv6Bytes(bindHost).copy(b, 4);
    b.writeUInt16BE(bindPort, 20);
    return b;
  }
  const b = Buffer.alloc(4 + 4 + 2);
  b.set([SOCKS_VERSION, reply, 0, AddrType.IPv4]);
  const parts = isIPv4(bindHost) ? bindHost.split('.').map(Number) : [0, 0, 0, 0];
  b.set(parts, 4);
  b.writeUInt16BE(bindPort, 8);
  return b;
}

/** Builds a client request (tests, tools). */
export function encodeRequest(command: number, host: string, port: number): Buffer {
  let addr: Buffer;
  if (isIPv4(host)) addr = Buffer.from([AddrType.IPv4, ...host.split('.').map(Number)]);
  else if (isIPv6(host)) addr = Buffer.concat([Buffer.from([AddrType.IPv6]), ipv6Bytes(host)]);
  else {
    const name = Buffer.from(host, 'latin1');
    if (name.length > 255) throw new RangeError('domain name longer than 255 bytes');
    addr = Buffer.concat([Buffer.from([AddrType.Domain, name.length]), name]);
  }
  const p = Buffer.alloc(2);
  p.writeUInt16BE(port);
  return Buffer.concat([Buffer.from([SOCKS_VERSION, command, 0]), addr, p]);
}

function ipv6Bytes(host: string): Buffer {
  // Expand "::" then write 8 groups; IPv4-mapped tails are converted to two groups.
  let h = host;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number) as [number, number, number, number];
    h = h.slice(0, -v4[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [left, right] = h.includes('::') ? h.split('::') : [h, undefined];
  const l = left ? left.split(':') : [];
  const r = right !== undefined && right !== '' ? right.split(':') : [];
  const groups = right === undefined ? l : [...l, ...Array(8 - l.length - r.length).fill('0'), ...r];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) || 0, 2 * i));
  return out;
}

function compressIPv6(groups: string[]): string {
  // Longest run of zero groups (≥ 2) becomes "::", as RFC 5952 asks.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
}
