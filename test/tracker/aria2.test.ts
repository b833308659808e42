// aria2c (Debian's package) as a real process announcing to our tracker over HTTP and UDP.
// aria2 only speaks UDP trackers through its DHT socket, so the UDP case turns DHT on, with no
// routing table file and no entry point: it has no node to talk to, and the tracker is on 127.0.0.1.
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startTracker, type AnnounceSeen, type TrackerServer } from '../../tracker/server.js';
import { Announcer, type PeerAddress } from '../../datapath/tracker/announcer.js';
import { Processes, freeTcpUdpPort, killChild, makeTempDir, randomId, removeDir, waitFor } from './helpers.js';

const procs = new Processes();
let tracker: TrackerServer | null = null;
let announcer: Announcer | null = null;
let dir = '';
afterEach(async () => {
  await announcer?.stop();
  announcer = null;
  await procs.killAll();
  await tracker?.close();
  tracker = null;
  if (dir) removeDir(dir);
  dir = '';
});

function infoHashOf(torrentPath: string): string {
  // aria2 prints the info-hash of a torrent with --show-files.
  const out = execFileSync('aria2c', ['--show-files=true', torrentPath], { encoding: 'utf8' });
  const m = /Info Hash: ([0-9a-f]{40})/i.exec(out);
  if (!m) throw new Error(`no info-hash in aria2c --show-files output:\n${out}`);
  return m[1]!.toLowerCase();
}

async function aria2Seeder(announceUrl: string, udp: boolean): Promise<{ child: ChildProcess; listenPort: number; infoHashHex: string }> {
  dir = makeTempDir('aria2-tracker');
  writeFileSync(join(dir, 'content.bin'), randomBytes(256 * 1024));
  const torrent = join(dir, 'content.torrent');
  execFileSync('mktorrent', ['-a', announceUrl, '-l', '15', '-o', torrent, join(dir, 'content.bin')], { stdio: 'ignore' });
  const listenPort = await freeTcpUdpPort();
  const dht = udp
    ? ['--enable-dht=true', `--dht-listen-port=${await freeTcpUdpPort()}`, `--dht-file-path=${join(dir, 'dht.dat')}`]
    : ['--enable-dht=false'];
  const child = procs.start('aria2c', [
    `--dir=${dir}`, '--check-integrity=true', '--seed-ratio=0.0', ...dht,
    '--bt-enable-lpd=false', '--enable-peer-exchange=false', '--disable-ipv6=true', `--listen-port=${listenPort}`,
    '--summary-interval=0', '--console-log-level=warn', '--no-conf=true', torrent,
  ], { cwd: dir });
  return { child, listenPort, infoHashHex: infoHashOf(torrent) };
}

describe.each([['http', false], ['udp', true]] as const)('aria2 announcing to our tracker over %s', (_name, udp) => {
  it('shows up as a seeder, is handed to our client, and leaves on stopped', async () => {
    const seen: AnnounceSeen[] = [];
    tracker = await startTracker({ intervalS: 2, onAnnounce: (a) => seen.push(a) });
    const url = udp ? tracker.udpUrl : tracker.httpUrl;
    const { child, listenPort, infoHashHex } = await aria2Seeder(url, udp);

    await waitFor(() => tracker!.swarms().get(infoHashHex)?.seeders === 1, 15_000, 'aria2 to announce as a seeder');
    const first = seen.find((a) => a.infoHashHex === infoHashHex)!;
    expect(first).toMatchObject({ transport: udp ? 'udp' : 'http', host: '127.0.0.1', port: listenPort, event: 'started', left: 0 });

    // Our client, as a leecher of the same torrent, is given aria2's address.
    announcer = new Announcer({
      tiers: [[url]], infoHash: Buffer.from(infoHashHex, 'hex'), peerId: randomId(), port: 6999,
      stats: () => ({ uploaded: 0, downloaded: 0, left: 256 * 1024 }), transport: { udp: { timeoutMs: 500, maxRetries: 2 } },
    });
    const peers: PeerAddress[] = [];
    announcer.on('peers', (ps: PeerAddress[]) => peers.push(...ps));
    announcer.start();
    await waitFor(() => peers.some((p) => p.port === listenPort), 5000, "aria2's address from the tracker");
    expect(tracker.swarms().get(infoHashHex)).toMatchObject({ seeders: 1, leechers: 1 });

    // aria2 says 'stopped' when asked to quit, and the tracker forgets it at once.
    await killChild(child, 'SIGINT');
    await waitFor(() => seen.some((a) => a.infoHashHex === infoHashHex && a.event === 'stopped'), 10_000, "aria2's stopped");
    expect(tracker.swarms().get(infoHashHex)?.seeders).toBe(0);
  });
});
