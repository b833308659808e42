// Peer connections read into one shared buffer: dialed ones through `onread`, accepted ones by taking
// over the accepted handle. Real loopback sockets; bytes must arrive whole and in order either way.
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { SocketReads } from '../../datapath/peer/socket-reads.js';
import { withTimeout } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function listen(onConn: (s: net.Socket) => void): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer({ pauseOnConnect: true }, onConn);
  cleanups.push(() => server.close());
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as net.AddressInfo).port })));
}

/** Collects what `reads` delivers (copied: chunks may be the shared buffer) until `bytes` arrived. */
function collect(reads: SocketReads, bytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  return new Promise((resolve) => {
    reads.setSink((chunk) => {
      parts.push(Buffer.from(chunk));
      got += chunk.length;
      if (got >= bytes) resolve(Buffer.concat(parts));
    });
  });
}

describe('SocketReads', () => {
  it('an accepted connection moves onto the shared buffer: 8 MiB arrive intact, the server still counts and closes', async () => {
    const payload = randomBytes(8 * 1024 * 1024);
    let adopted: { socket: net.Socket; reads: SocketReads; original: net.Socket } | null = null;
    const accepted = new Promise<void>((resolve) => {
      void listen((s) => {
        const r = SocketReads.adoptAccepted(s);
        adopted = { ...r, original: s };
        cleanups.push(() => r.socket.destroy());
        resolve();
      }).then(({ port, server }) => {
        const c = net.connect(port, '127.0.0.1', () => c.end(payload));
        cleanups.push(() => c.destroy());
        serverRef = server;
      });
    });
    let serverRef: net.Server | null = null;
    await withTimeout(accepted, 5000, 'accept');
    const a = adopted!;
    expect(a.socket).not.toBe(a.original);
    expect(a.original.destroyed).toBe(true);
    expect(a.socket.remoteAddress).toBe('127.0.0.1');
    const got = await withTimeout(collect(a.reads, payload.length), 10_000, 'payload');
    expect(got.equals(payload)).toBe(true);
    // The retired socket gave back its place in the server's count: close() completes.
    a.socket.destroy();
    await withTimeout(new Promise<void>((resolve) => serverRef!.close(() => resolve())), 5000, 'server close');
  });

  it('a dialed connection reads through onread; bytes that come before a sink are kept for it', async () => {
    const payload = randomBytes(3 * 1024 * 1024 + 17);
    const { port } = await listen((s) => {
      s.resume();
      s.end(payload);
    });
    const { reads, onread } = SocketReads.sharedBuffer();
    const c = net.connect({ port, host: '127.0.0.1', onread });
    cleanups.push(() => c.destroy());
    await new Promise((r) => setTimeout(r, 200)); // data arrives with no sink yet
    const got = await withTimeout(collect(reads, payload.length), 10_000, 'payload');
    expect(got.equals(payload)).toBe(true);
  });
});
