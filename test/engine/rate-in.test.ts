// RateIn: the per-flow download cap the control plane sets on a leecher's flow. The engine paces its
// requests to that peer with a token bucket, so what the peer sends holds the rate; release lifts it.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readMetainfo } from '../../datapath/metainfo/metainfo.js';
import { Session } from '../../datapath/swarm/session.js';
import type { ControlledFlow, FlowEventSink } from '../../datapath/flow/flow-api.js';
import { FLOW } from '../../datapath/program/schema.js';
import { makeTorrent, tempDir, waitFor } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const RATE_IN = 300_000;

/** Takes every flow's knobs at its first event and sets RateIn (no upload cap, automatic window). */
class RateInSink implements FlowEventSink {
  opened: ControlledFlow[] = [];
  constructor(private readonly rateInBps: number) {}
  flowOpened(f: ControlledFlow): void {
    this.opened.push(f);
    f.applyControls({ rateBps: 0, choke: false, window: 0, rateInBps: this.rateInBps });
  }
  flowEvent(): void {}
  flowClosed(): void {}
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('RateIn', () => {
  it("holds a leecher's download from a ccp-bt seeder at the flow's RateIn, and release lifts it", async () => {
    const t = tempDir('rate-in');
    cleanups.push(t.cleanup);
    const src = join(t.dir, 'src');
    const dst = join(t.dir, 'dst');
    mkdirSync(src);
    mkdirSync(dst);
    const { data, torrent } = await makeTorrent(src, 'x.bin', 3 * 1024 * 1024, [], 64 * 1024);
    const meta = await readMetainfo(torrent);
    const seeder = new Session({ host: '127.0.0.1' });
    const leecher = new Session({ host: '127.0.0.1' });
    cleanups.push(() => seeder.close(), () => leecher.close());
    await seeder.listen();
    await leecher.listen();
    const sink = new RateInSink(RATE_IN);
    leecher.setFlowSink(sink);
    await seeder.addTorrent(meta, src, { announce: false });
    const lt = await leecher.addTorrent(meta, dst, { announce: false, peers: [{ host: '127.0.0.1', port: seeder.port }] });
    await waitFor(() => sink.opened.length === 1 && sink.opened[0]!.stats[FLOW.bytes_recv]! > 0, 5000, 'first block');
    const flow = sink.opened[0]!;
    expect(flow.externallyControlled).toBe(true);
    // Past the start (one block of burst), then a few seconds of steady state.
    await sleep(500);
    const t0 = performance.now();
    const r0 = flow.stats[FLOW.bytes_recv]!;
    await sleep(3000);
    const rate = ((flow.stats[FLOW.bytes_recv]! - r0) * 1000) / (performance.now() - t0);
    expect(Math.abs(rate / RATE_IN - 1), `measured ${Math.round(rate)} B/s`).toBeLessThan(0.1);
    expect(lt.complete).toBe(false);
    // Released: the standard policy has no per-flow download cap, so the rest comes at full speed.
    flow.releaseControls();
    expect(flow.externallyControlled).toBe(false);
    const left = meta.totalBytes - flow.stats[FLOW.bytes_recv]!;
    const tRelease = performance.now();
    await new Promise<void>((res) => (lt.complete ? res() : lt.once('complete', res)));
    const afterRate = (left * 1000) / Math.max(1, performance.now() - tRelease);
    expect(afterRate, 'released flow is no longer capped').toBeGreaterThan(2 * RATE_IN);
    expect(readFileSync(join(dst, 'x.bin')).equals(readFileSync(data))).toBe(true);
  });
});
