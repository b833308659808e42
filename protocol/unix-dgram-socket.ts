// A typed, misuse-proof face on unix-dgram (which ships no types): results as errno numbers instead of
// events, a close() that is safe to call twice (the library aborts the process on a second close),
// and an 'error' listener always attached (bind/connect emit errors synchronously).
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';

interface RawSocket extends EventEmitter {
  bind(path: string): void;
  connect(path: string): void;
  send(buf: Buffer, callback: (err?: Error & { code?: number }) => void): void;
  send(buf: Buffer, offset: number, length: number, path: string, callback: (err?: Error & { code?: number }) => void): void;
  close(): void;
  connected?: boolean;
}
interface UnixDgramModule {
  createSocket(type: 'unix_dgram', listener?: (buf: Buffer, rinfo: { path?: string }) => void): RawSocket;
}

const unixDgram = createRequire(import.meta.url)('unix-dgram') as UnixDgramModule;

export const EPERM = -1;
export const ENOENT = -2;
export const EAGAIN = -11;
export const EACCES = -13;
export const ENOBUFS = -105;
export const ENOTCONN = -107;
export const ECONNREFUSED = -111;
/** unix-dgram's own code for "congested: wait for 'writable'" (connected sockets). */
export const CONGESTED = 1;

const ERRNO_NAMES: Record<number, string> = {
  [EPERM]: 'EPERM',
  [ENOENT]: 'ENOENT',
  [EAGAIN]: 'EAGAIN',
  [EACCES]: 'EACCES',
  [ENOBUFS]: 'ENOBUFS',
  [ENOTCONN]: 'ENOTCONN',
  [ECONNREFUSED]: 'ECONNREFUSED',
  [-98]: 'EADDRINUSE',
  [-90]: 'EMSGSIZE',
};
export const errnoName = (code: number): string => ERRNO_NAMES[code] ?? `errno ${-code}`;

/** Longest path a sockaddr_un holds (unix-dgram would silently cut a longer one). */
export const MAX_SOCKET_PATH_BYTES = 107;

export function checkSocketPath(path: string): void {
  const n = Buffer.byteLength(path);
  if (n > MAX_SOCKET_PATH_BYTES) {
    throw new Error(`socket path is ${n} bytes, the limit is ${MAX_SOCKET_PATH_BYTES}: ${path} (choose a shorter directory)`);
  }
}

export class DgramSocket {
  private readonly raw: RawSocket;
  private lastError = 0;
  private closed = false;

  constructor() {
    this.raw = unixDgram.createSocket('unix_dgram');
    this.raw.on('error', (err: Error & { code?: number }) => {
      this.lastError = typeof err.code === 'number' ? err.code : -1;
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onMessage(handler: (datagram: Buffer, fromPath: string | undefined) => void): void {
    this.raw.on('message', (buf: Buffer, rinfo: { path?: string }) => handler(buf, rinfo.path));
  }

  /** unix-dgram fires 'writable' once after a congested send on a connected socket. */
  onWritable(handler: () => void): void {
    this.raw.on('writable', handler);
  }

  /** 0 or a negative errno. */
  bind(path: string): number {
    checkSocketPath(path);
    this.lastError = 0;
    this.raw.bind(path);
    return this.lastError;
  }

  /** 0 or a negative errno. May be called again to point the socket at a new peer. */
  connect(path: string): number {
    checkSocketPath(path);
    this.lastError = 0;
    this.raw.connect(path);
    return this.lastError;
  }

  /** On a connected socket: 0 sent, CONGESTED (wait for writable), or a negative errno. */
  send(datagram: Buffer): number {
    if (this.closed) return ENOTCONN;
    let result = 0;
    this.raw.send(datagram, (err) => {
      result = err === undefined ? 0 : typeof err.code === 'number' ? err.code : -1;
    });
    return result;
  }

  /** To a path: 0 sent, EAGAIN when the receiver's queue is full (no 'writable' follows), or a negative errno. */
  sendTo(datagram: Buffer, path: string): number {
    if (this.closed) return ENOTCONN;
    let result = 0;
    // unix-dgram only sends to `path` while not connected; agent sockets never connect.
    this.raw.send(datagram, 0, datagram.length, path, (err) => {
      result = err === undefined ? 0 : typeof err.code === 'number' ? err.code : -1;
    });
    return result;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.raw.close();
    } catch {
      // close() reports errno by throwing; the descriptor is gone either way.
    }
  }
}
