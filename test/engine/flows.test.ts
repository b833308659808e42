// Peers as flows, in process over real sockets on 127.0.0.1: the Session's programmatic API, the
// FlowSource seam (opened/event/closed with a current Flow bank) and the three knobs.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readMetainfo, type Metainfo } from '../../datapath/metainfo/metainfo.js';
import { Session } from '../../datapath/swarm/session.js';
import type { ControlledFlow, FlowEventSink } from '../../datapath/flow/flow-api.js';
import { EVENT, FLOW, TORRENT } from '../../datapath/program/schema.js';
import { makeTorrent, tempDir, waitFor } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

class RecordingSink implements FlowEventSink {
  opened: ControlledFlow[] = [];
  closed: string[] = [];
  events = 0;
  sentInEvents = 0;
  recvInEvents = 0;
  latencySamples = 0;
  requested = 0;
  maxOutstandingAfterWindow = 0;
  windowApplied = false;
  onEvent: ((f: ControlledFlow, e: Float64Array) => void) | null = null;
  flowOpened(f: ControlledFlow): void {
    this.opened.push(f);
  }
  flowEvent(f: ControlledFlow, e: Float64Array): void {
    this.events++;
    this.sentInEvents += e[EVENT.sent]!;
    this.recvInEvents += e[EVENT.recv]!;
    if (e[EVENT.latency_us]! > 0) this.latencySamples++;
    this.requested += e[EVENT.requested]!;
    if (this.windowApplied) this.maxOutstandingAfterWindow = Math.max(this.maxOutstandingAfterWindow, f.stats[FLOW.outstanding]!);
    this.onEvent?.(f, e);
  }
  flowClosed(_f: ControlledFlow, reason: string): void {
    this.closed.push(reason);
  }
}

async function setup(bytes: number): Promise<{ meta: Metainfo; src: string; dst: string; data: string; seeder: Session; leecher: Session }> {
  const t = tempDir('flows');
  cleanups.push(t.cleanup);
  const src = join(t.dir, 'src');
  const dst = join(t.dir, 'dst');
  mkdirSync(src);
  mkdirSync(dst);
  const { data, torrent } = await makeTorrent(src, 'x.bin', bytes, [], 64 * 1024);
  const meta = await readMetainfo(torrent);
  const seeder = new Session({ host: '127.0.0.1' });
  const leecher = new Session({ host: '127.0.0.1' });
  cleanups.push(() => seeder.close(), () => leecher.close());
  await seeder.listen();
  await leecher.listen();
  return { meta, src, dst, data, seeder, leecher };
}

describe('flows and knobs', () => {
  it('reports flow lifecycle and per-event measurements to an attached sink', async () => {
    const { meta, src, dst, data, seeder, leecher } = await setup(2 * 1024 * 1024);
    const up = new RecordingSink();
    const down = new RecordingSink();
    seeder.setFlowSink(up);
    leecher.setFlowSink(down);
    await seeder.addTorrent(meta, src, { announce: false });
    const lt = await leecher.addTorrent(meta, dst, { announce: false, peers: [{ host: '127.0.0.1', port: seeder.port }] });
    await new Promise<void>((res) => (lt.complete ? res() : lt.once('complete', res)));
    expect(readFileSync(join(dst, 'x.bin')).equals(readFileSync(data))).toBe(true);
    expect(up.opened.length).toBe(1);
    expect(down.opened.length).toBe(1);
    const flow = up.opened[0]!;
    expect(flow.info.infoHash.equals(meta.infoHash)).toBe(true);
    expect(flow.info.pieceCount).toBe(meta.pieceCount);
    expect(up.sentInEvents).toBe(meta.totalBytes);
    expect(down.recvInEvents).toBe(meta.totalBytes);
    expect(down.latencySamples).toBe(Math.ceil(meta.totalBytes / 16384));
    expect(up.requested).toBe(Math.ceil(meta.totalBytes / 16384));
    expect(flow.stats[FLOW.bytes_sent]).toBe(meta.totalBytes);
    expect(down.opened[0]!.stats[FLOW.rtt_us]).toBeGreaterThan(0);
    expect(flow.torrentStats[TORRENT.seeding]).toBe(1);
    expect([...seeder.liveFlows()].length).toBeLessThanOrEqual(1);
    // Both complete: the connection ends and both sinks hear of it.
    await waitFor(() => up.closed.length === 1 && down.closed.length === 1, 5000, 'flow closed');
    expect([...seeder.liveFlows()].length).toBe(0);
  });

  it('Rate caps a flow, Choke stops it, Window bounds our requests, release hands back', async () => {
    const { meta, src, dst, data, seeder, leecher } = await setup(3 * 1024 * 1024);
    const up = new RecordingSink();
    const down = new RecordingSink();
    seeder.setFlowSink(up);
    leecher.setFlowSink(down);
    await seeder.addTorrent(meta, src, { announce: false });
    // The seeder's flow is capped before any data moves: 400 kB/s.
    up.onEvent = (f) => {
      if (!f.externallyControlled) f.applyControls({ rateBps: 400_000, choke: false, window: 0, rateInBps: 0 });
    };
    down.onEvent = (f) => {
      if (!down.windowApplied) {
        f.applyControls({ rateBps: 0, choke: false, window: 2, rateInBps: 0 });
        down.windowApplied = true;
      }
    };
    const lt = await leecher.addTorrent(meta, dst, { announce: false, peers: [{ host: '127.0.0.1', port: seeder.port }] });
    await waitFor(() => up.opened.length === 1 && up.sentInEvents > 0, 5000, 'first block');
    const flow = up.opened[0]!;
    const t0 = performance.now();
    const s0 = flow.stats[FLOW.bytes_sent]!;
    await new Promise((r) => setTimeout(r, 1500));
    const sent = flow.stats[FLOW.bytes_sent]! - s0;
    const seconds = (performance.now() - t0) / 1000;
    // Never above the cap (plus one block of burst and the one in flight), and not starved.
    expect(sent).toBeLessThanOrEqual(400_000 * seconds + 3 * 16384);
    expect(sent).toBeGreaterThan(400_000 * seconds * 0.5);
    expect(down.maxOutstandingAfterWindow).toBeLessThanOrEqual(2);
    // Choke: the leecher sees it and nothing more is sent.
    up.onEvent = null;
    flow.applyControls({ rateBps: 0, choke: true, window: 0, rateInBps: 0 });
    await waitFor(() => down.opened[0]!.stats[FLOW.peer_choking] === 1, 3000, 'leecher to see the choke');
    const frozen = flow.stats[FLOW.bytes_sent]!;
    await new Promise((r) => setTimeout(r, 300));
    expect(flow.stats[FLOW.bytes_sent]).toBe(frozen);
    expect(lt.complete).toBe(false);
    // Release: the standard policy unchokes it again and the download finishes at full speed.
    flow.releaseControls();
    down.opened[0]!.releaseControls();
    expect(flow.externallyControlled).toBe(false);
    await new Promise<void>((res) => (lt.complete ? res() : lt.once('complete', res)));
    expect(readFileSync(join(dst, 'x.bin')).equals(readFileSync(data))).toBe(true);
  });
});
