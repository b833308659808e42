// The child behind bench:transfer's ccp-bt-1proc: N leechers as N Sessions in one process (as the world
// runs its peers), all announcing to the torrent's tracker; exits 0 once every one is complete. The
// bench bundles it with esbuild and runs it with plain node, so it starts the way a ccp-bt process does:
// under tsx its start-up alone (compiling the sources) had been ~0.4 s of the figure.
import { tuneV8 } from '../bin/v8-tuning.cjs';
import { readMetainfo } from '../datapath/metainfo/metainfo.js';
import { Session } from '../datapath/swarm/session.js';

async function leechInProcess(torrent: string, dirs: string[]): Promise<void> {
  const meta = await readMetainfo(torrent);
  const sessions = await Promise.all(dirs.map(async () => {
    const s = new Session({ host: '127.0.0.1' });
    await s.listen();
    return s;
  }));
  await Promise.all(sessions.map(async (s, i) => {
    const t = await s.addTorrent(meta, dirs[i]!);
    if (!t.complete) await new Promise((res) => t.once('complete', res));
  }));
  await Promise.all(sessions.map((s) => s.close()));
}

tuneV8(); // as bin/launch.cjs does for every ccp-bt process
const [torrent, ...dirs] = process.argv.slice(2);
if (!torrent || dirs.length === 0) {
  process.stderr.write('usage: leech-inproc TORRENT DIR...\n');
  process.exit(2);
}
leechInProcess(torrent, dirs).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`leech-inproc: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
