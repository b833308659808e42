// A small HTTP + UDP BitTorrent tracker for local swarms (the world, tests).
import http from 'node:http';
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { TrackerCore, type AnnounceSeen } from './tracker-core.js';
import { makeHttpHandler } from './http-handler.js';
import { makeUdpHandler } from './udp-handler.js';
import type { SwarmCounts } from './swarm-store.js';

export type { AnnounceSeen } from './tracker-core.js';

export interface TrackerServer {
  httpUrl: string;
  udpUrl: string;
  close(): Promise<void>;
  swarms(): Map<string /* infoHashHex */, { seeders: number; leechers: number; completed: number }>;
}

export interface TrackerOptions {
  host?: string; // default 127.0.0.1
  httpPort?: number; // 0 = any
  udpPort?: number; // 0 = any
  intervalS?: number; // default 60
  peerTtlS?: number; // default 3 intervals
  whitelist?: Buffer[];
  /** Called after each accepted announce (for --verbose and the world's logs). */
  onAnnounce?: (seen: AnnounceSeen) => void;
}

export async function startTracker(opts: TrackerOptions = {}): Promise<TrackerServer> {
  const host = opts.host ?? '127.0.0.1';
  if (isIP(host) === 0) throw new Error(`tracker host must be an IP address, got '${host}'`);
  const intervalS = opts.intervalS ?? 60;
  if (!Number.isFinite(intervalS) || intervalS < 1) throw new Error(`tracker interval must be at least 1 s, got ${intervalS}`);
  const peerTtlS = opts.peerTtlS ?? intervalS * 3;
  if (!Number.isFinite(peerTtlS) || peerTtlS <= 0) throw new Error(`peer TTL must be positive, got ${peerTtlS}`);
  for (const h of opts.whitelist ?? []) if (h.length !== 20) throw new Error('whitelist entries must be 20-byte info-hashes');
  const core = new TrackerCore(Math.round(intervalS), peerTtlS, opts.whitelist, opts.onAnnounce);

  const httpServer = http.createServer({ maxHeaderSize: 8192 }, makeHttpHandler(core));
  httpServer.headersTimeout = 10_000;
  httpServer.requestTimeout = 10_000;
  httpServer.keepAliveTimeout = 1_000;
  // Garbage on the wire: answer 400 if we still can, never crash.
  httpServer.on('clientError', (_err, sock) => {
    if (sock.writable) sock.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else sock.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(opts.httpPort ?? 0, host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });

  const udpSocket = dgram.createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      udpSocket.once('error', reject);
      udpSocket.bind(opts.udpPort ?? 0, host, () => {
        udpSocket.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await new Promise<void>((r) => httpServer.close(() => r()));
    throw err;
  }
  udpSocket.on('error', () => { /* send errors on an unconnected socket are per-datagram: keep serving */ });
  udpSocket.on('message', makeUdpHandler(core, udpSocket));

  const sweep = setInterval(() => core.store.expire(), Math.max(1000, (peerTtlS * 1000) / 2));
  sweep.unref();

  const httpPort = (httpServer.address() as { port: number }).port;
  const udpPort = udpSocket.address().port;
  const urlHost = isIP(host) === 6 ? `[${host}]` : host;
  let closing: Promise<void> | null = null;
  return {
    httpUrl: `http://${urlHost}:${httpPort}/announce`,
    udpUrl: `udp://${urlHost}:${udpPort}`,
    swarms: (): Map<string, SwarmCounts> => core.store.all(),
    close: () => {
      closing ??= (async () => {
        clearInterval(sweep);
        httpServer.closeAllConnections();
        await Promise.all([
          new Promise<void>((r) => httpServer.close(() => r())),
          new Promise<void>((r) => udpSocket.close(() => r())),
        ]);
      })();
      return closing;
    },
  };
}
