// Real processes for the shaping proxy's interop tests and benchmark: ccp-bt itself, qBittorrent-nox
// (headless, WebUI on loopback), aria2. Every process is tracked and killed by PID; every client is
// kept off the Internet (DHT, LPD, PeX, UPnP off; bound to 127.0.0.1).
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ccp, freePort, run, type Proc } from '../support/processes.js';
import { createTorrent } from '../../datapath/metainfo/create.js';
import { parseMetainfo } from '../../datapath/metainfo/metainfo.js';

export { CLI, ROOT, ccp, freePort, hasCommand, killAll, run, tempDir, type Proc } from '../support/processes.js';

export async function waitUntil(cond: () => boolean | Promise<boolean>, ms: number, what: string, everyMs = 200): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`${what}: not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Random data in dir/name and a .torrent for it (no trackers). */
export async function makeTorrent(dir: string, name: string, bytes: number, pieceLength = 256 * 1024): Promise<{ data: string; torrent: string; infoHash: string }> {
  const data = join(dir, name);
  writeFileSync(data, randomBytes(bytes));
  const torrent = join(dir, `${name}.torrent`);
  const meta = await createTorrent({ path: data, trackers: [], pieceLength, creationDate: null });
  writeFileSync(torrent, meta);
  return { data, torrent, infoHash: parseMetainfo(meta).infoHash.toString('hex') };
}

/** Starts `ccp-bt shape` and resolves once it prints its ready line; returns the ports it listens on. */
export async function startShape(args: string[], timeoutMs = 60_000): Promise<{ proc: Proc; socksPort: number | null; forwardPorts: number[] }> {
  const proc = ccp(['shape', ...args]);
  await waitUntil(() => proc.out().includes('shape: ready') || proc.child.exitCode !== null, timeoutMs, 'ccp-bt shape ready', 50);
  if (!proc.out().includes('shape: ready')) throw new Error(`ccp-bt shape did not start: ${proc.err()}`);
  const line = proc.out().split('\n').find((l) => l.includes('shape: ready'))!;
  const socks = /SOCKS5 on [^ ;]+:(\d+)/.exec(line);
  const forwardPorts = [...line.matchAll(/forward [^ ]+:(\d+) ->/g)].map((m) => Number(m[1]));
  return { proc, socksPort: socks ? Number(socks[1]) : null, forwardPorts };
}

export const ARIA2_FLAGS = [
  '--enable-dht=false',
  '--enable-dht6=false',
  '--bt-enable-lpd=false',
  '--enable-peer-exchange=false',
  '--disable-ipv6=true',
  '--summary-interval=0',
  '--console-log-level=warn',
  '--bt-stop-timeout=0',
  '--check-integrity=true',
  '--bt-detach-seed-only=true',
  '--file-allocation=none',
  '--no-conf=true',
];

// ---- qBittorrent-nox ----

export interface Qbit {
  readonly proc: Proc;
  readonly webPort: number;
  readonly listenPort: number;
  api(path: string, form?: Record<string, string | Blob>): Promise<Response>;
  torrentInfo(hash: string): Promise<{ progress: number; state: string; dlspeed: number; num_seeds: number; num_leechs: number } | null>;
}

/**
 * Starts qbittorrent-nox with a fresh profile: WebUI on loopback without login, DHT/LSD/PeX/UPnP off,
 * encryption off (so the proxy can read the wire), peer connections through `socks` when given.
 */
export async function startQbittorrent(profileDir: string, socks: { host: string; port: number } | null): Promise<Qbit> {
  const webPort = await freePort();
  const listenPort = await freePort();
  const conf = join(profileDir, 'qBittorrent', 'config');
  mkdirSync(conf, { recursive: true });
  const lines = [
    '[BitTorrent]',
    `Session\\Port=${listenPort}`,
    'Session\\DHTEnabled=false',
    'Session\\LSDEnabled=false',
    'Session\\PeXEnabled=false',
    'Session\\Encryption=2',
    'Session\\BTProtocol=TCP',
    'Session\\QueueingSystemEnabled=false',
    'Session\\InterfaceAddress=127.0.0.1',
    `Session\\ProxyPeerConnections=${socks ? 'true' : 'false'}`,
    '',
    '[LegalNotice]',
    'Accepted=true',
    '',
    '[Meta]',
    'MigrationVersion=4',
    '',
    '[Network]',
    'PortForwardingEnabled=false',
    ...(socks ? ['Proxy\\Type=SOCKS5', `Proxy\\IP=${socks.host}`, `Proxy\\Port=${socks.port}`, 'Proxy\\OnlyForTorrents=false'] : []),
    '',
    '[Preferences]',
    'Connection\\UPnP=false',
    'WebUI\\Address=127.0.0.1',
    'WebUI\\CSRFProtection=false',
    'WebUI\\HostHeaderValidation=false',
    'WebUI\\LocalHostAuth=false',
    `WebUI\\Port=${webPort}`,
    '',
  ];
  writeFileSync(join(conf, 'qBittorrent.conf'), lines.join('\n'));
  const proc = run('qbittorrent-nox', [`--profile=${profileDir}`], { cwd: profileDir });
  const base = `http://127.0.0.1:${webPort}/api/v2`;
  const api = async (path: string, form?: Record<string, string | Blob>): Promise<Response> => {
    if (!form) return fetch(`${base}${path}`);
    const fd = new FormData();
    for (const [k, v] of Object.entries(form)) {
      if (typeof v === 'string') fd.append(k, v);
      else fd.append(k, v, 'file.torrent');
    }
    return fetch(`${base}${path}`, { method: 'POST', body: fd });
  };
  await waitUntil(
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`qbittorrent-nox exited: ${proc.err()} ${proc.out()}`);
      try {
        return (await api('/app/webapiVersion')).ok;
      } catch {
        return false;
      }
    },
    30_000,
    'qBittorrent WebUI up',
  );
  const torrentInfo: Qbit['torrentInfo'] = async (hash) => {
    const r = await api(`/torrents/info?hashes=${hash}`);
    const list = (await r.json()) as { progress: number; state: string; dlspeed: number; num_seeds: number; num_leechs: number }[];
    return list[0] ?? null;
  };
  return { proc, webPort, listenPort, api, torrentInfo };
}
