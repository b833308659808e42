// Test helpers for the shaping proxy: loopback servers, a SOCKS5 client, byte collectors, a recording sink.
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import type { ControlledFlow, FlowEventSink } from '../../datapath/flow/flow-api.js';
import { EVENT } from '../../datapath/program/schema.js';

export interface Listener {
  readonly server: Server;
  readonly port: number;
  /** Resolves with the next accepted socket. */
  accepted(): Promise<Socket>;
  close(): Promise<void>;
}

export async function listenLoopback(host = '127.0.0.1'): Promise<Listener> {
  const queue: Socket[] = [];
  const waiters: ((s: Socket) => void)[] = [];
  const all: Socket[] = [];
  const server = createServer((s) => {
    all.push(s);
    s.on('error', () => {});
    const w = waiters.shift();
    if (w) w(s);
    else queue.push(s);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    accepted: () => {
      const s = queue.shift();
      return s ? Promise.resolve(s) : new Promise((resolve) => waiters.push(resolve));
    },
    close: async () => {
      for (const s of all) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Reads exactly `n` bytes from a socket (rejects on close or timeout). */
export function readExactly(s: Socket, n: number, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const done = (err: Error | null, value?: Buffer): void => {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('close', onClose);
      if (err) reject(err);
      else resolve(value!);
    };
    const onData = (chunk: Buffer): void => {
      parts.push(chunk);
      got += chunk.length;
      if (got >= n) {
        const all = Buffer.concat(parts);
        s.pause();
        if (all.length > n) s.unshift(all.subarray(n));
        done(null, all.subarray(0, n));
      }
    };
    const onClose = (): void => done(new Error(`socket closed after ${got} of ${n} bytes`));
    const timer = setTimeout(() => done(new Error(`timed out after ${got} of ${n} bytes`)), timeoutMs);
    s.on('data', onData);
    s.on('close', onClose);
    s.resume();
  });
}

/** Resolves when the socket closes; with the bytes received until then. */
export function readUntilClose(s: Socket, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const timer = setTimeout(() => reject(new Error('socket did not close')), timeoutMs);
    s.on('data', (c: Buffer) => parts.push(c));
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(parts));
    });
    s.resume();
  });
}

export function connectTcp(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.removeListener('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
    s.once('error', reject);
  });
}

export class SocksReplyError extends Error {
  constructor(readonly code: number) {
    super(`SOCKS5 reply ${code}`);
  }
}

/** Opens a tunnel through a SOCKS5 proxy; rejects with SocksReplyError on a refusal. */
export async function socksConnect(
  proxyPort: number,
  request: Buffer,
  auth?: { user: string; password: string },
): Promise<Socket> {
  const s = await connectTcp(proxyPort);
  s.write(Buffer.from(auth ? [5, 1, 2] : [5, 1, 0]));
  const method = await readExactly(s, 2);
  if (method[1] === 0xff) throw new SocksReplyError(0xff);
  if (auth) {
    const u = Buffer.from(auth.user);
    const p = Buffer.from(auth.password);
    s.write(Buffer.concat([Buffer.from([1, u.length]), u, Buffer.from([p.length]), p]));
    const st = await readExactly(s, 2);
    if (st[1] !== 0) throw new SocksReplyError(0x100 + st[1]!);
  }
  s.write(request);
  const head = await readExactly(s, 4);
  const rest = await readExactly(s, head[3] === 4 ? 18 : 6);
  void rest;
  if (head[1] !== 0) {
    s.destroy();
    throw new SocksReplyError(head[1]!);
  }
  return s;
}

export interface RecordedEvent {
  flowId: number;
  sent: number;
  recv: number;
  latencyUs: number;
  requested: number;
  stateChange: number;
}

/** A FlowEventSink that records what it is told. */
export class RecordingSink implements FlowEventSink {
  readonly opened: ControlledFlow[] = [];
  readonly closed: { flow: ControlledFlow; reason: string }[] = [];
  readonly events: RecordedEvent[] = [];

  flowOpened(flow: ControlledFlow): void {
    this.opened.push(flow);
  }

  flowEvent(flow: ControlledFlow, e: Float64Array): void {
    this.events.push({
      flowId: flow.info.flowId,
      sent: e[EVENT.sent]!,
      recv: e[EVENT.recv]!,
      latencyUs: e[EVENT.latency_us]!,
      requested: e[EVENT.requested]!,
      stateChange: e[EVENT.state_change]!,
    });
  }

  flowClosed(flow: ControlledFlow, reason: string): void {
    this.closed.push({ flow, reason });
  }
}

/** Polls `cond` every 10 ms until it is true (bounded). */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
