import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectDatapath, listenAgent, type UnixAgentServer } from '../../protocol/unix-transport.js';
import { DgramSocket } from '../../protocol/unix-dgram-socket.js';
import { cleanStaleSockets, probeSocket } from '../../protocol/socket-dir.js';
import { decodeDatagram, encodeBatch } from '../../protocol/codec.js';
import { ErrorCode, MsgType, type ErrorMsg, type Message } from '../../protocol/messages.js';
import type { Channel } from '../../protocol/transport.js';
import { answerHello, helloMessage } from '../../protocol/handshake.js';

const CHILD = join(import.meta.dirname, 'fixtures', 'dp-child.ts');

let dir: string;
const children: ChildProcess[] = [];
const closers: (() => Promise<void> | void)[] = [];

beforeEach(() => {
  // Short: socket paths must stay under 108 bytes.
  dir = mkdtempSync(join(tmpdir(), 'ccpp-'));
});
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
  }
  for (const close of closers.splice(0).reverse()) await close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const blockLoop = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};
async function waitFor(cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(5);
  }
}

function runChild(scenario: object): { proc: ChildProcess; result: Promise<{ code: number | null; lines: unknown[]; stderr: string }> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(scenario)], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const result = new Promise<{ code: number | null; lines: unknown[]; stderr: string }>((resolve) => {
    proc.on('exit', (code) => {
      // 'exit' may come before the pipes drain
      setTimeout(() => {
        const lines = out.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
        resolve({ code, lines, stderr: err });
      }, 50);
    });
  });
  return { proc, result };
}

async function agent(): Promise<UnixAgentServer> {
  const server = await listenAgent({ dir, name: 'test' });
  closers.push(() => server.close());
  return server;
}

describe('unix datagram transport between two processes', () => {
  it('delivers every report in order through a congested socket (the 10-datagram queue)', async () => {
    const server = await agent();
    const seen: number[] = [];
    let goodbye = false;
    server.onChannel((ch) =>
      ch.onMessage((m) => {
        if (m.type === MsgType.Report) seen.push(m.values[0]!);
        if (m.type === MsgType.Goodbye) goodbye = true;
      }),
    );
    const { result } = runChild({ dir, mode: 'reports', count: 30_000, burst: 50, backpressure: true });
    // Stall the agent's loop now and then so the datapath's sends meet a full receive queue.
    await waitFor(() => seen.length > 0);
    for (let i = 0; i < 3 && !goodbye; i++) {
      blockLoop(150);
      await sleep(20);
    }
    await waitFor(() => goodbye);
    const r = await result;
    expect(r.code, r.stderr).toBe(0);
    const { stats } = r.lines[0] as { stats: { congestedSends: number; droppedReports: number } };
    expect(stats.congestedSends).toBeGreaterThan(0);
    expect(stats.droppedReports).toBe(0);
    expect(seen.length).toBe(30_000);
    expect(seen.every((v, i) => v === i)).toBe(true);
  });

  it('past the queue bound, drops only reports and tells the agent exactly how many', async () => {
    const server = await agent();
    let reports = 0;
    let controls = 0;
    let toldDropped = 0;
    let goodbye = false;
    server.onChannel((ch) =>
      ch.onMessage((m) => {
        if (m.type === MsgType.Report) reports++;
        if (m.type === MsgType.FlowClosed) controls++;
        if (m.type === MsgType.Error && m.code === ErrorCode.Overloaded) toldDropped += Number(/dropped (\d+) reports/.exec(m.message)![1]);
        if (m.type === MsgType.Goodbye) goodbye = true;
      }),
    );
    const { result } = runChild({ dir, mode: 'reports', count: 40_000, burst: 10, backpressure: false, controlEvery: 100 });
    await waitFor(() => reports > 0);
    blockLoop(400);
    await waitFor(() => goodbye);
    const r = await result;
    expect(r.code, r.stderr).toBe(0);
    const { stats } = r.lines[0] as { stats: { droppedReports: number } };
    expect(stats.droppedReports).toBeGreaterThan(0);
    expect(toldDropped).toBe(stats.droppedReports);
    expect(reports + toldDropped).toBe(40_000);
    expect(controls).toBe(400); // control messages are never dropped
  });

  it("agent → datapath: updates survive the datapath's full queue; latest value per flow wins", async () => {
    const server = await agent();
    let channel: Channel | null = null;
    server.onChannel((ch) => {
      channel = ch;
    });
    const { result } = runChild({ dir, mode: 'receive', blockMs: 500 });
    await waitFor(() => channel !== null); // the child blocks its loop right after its Hello
    for (let round = 0; round < 20; round++) {
      for (let flow = 0; flow < 300; flow++) {
        channel!.send({ type: MsgType.UpdateFields, flowId: flow, fields: [{ name: 'Rate', value: round * 1000 + flow }] });
        if (round === 0) channel!.send({ type: MsgType.SwitchProgram, flowId: flow, programId: 1, epoch: 1, fields: [] });
      }
      await sleep(2);
    }
    expect(server.channels()[0]!.stats().congestedSends).toBeGreaterThan(0);
    channel!.send({ type: MsgType.Goodbye, reason: 'done' });
    const r = await result;
    expect(r.code, r.stderr).toBe(0);
    const out = r.lines[0] as { switches: number; finalRate: [number, number][]; done: boolean };
    expect(out.done).toBe(true);
    expect(out.switches).toBe(300);
    expect(new Map(out.finalRate)).toEqual(new Map(Array.from({ length: 300 }, (_, f) => [f, 19_000 + f])));
  });
});

describe('one agent, many datapaths', () => {
  it('a hung datapath does not stop the agent serving the others', async () => {
    const server = await agent();
    const byPath = new Map<string, Channel>();
    server.onChannel((ch) => byPath.set(ch.description, ch));
    const { result } = runChild({ dir, mode: 'receive', blockMs: 1500 }); // hung for 1.5 s after its Hello
    const healthy = await connectDatapath({ dir, name: 'healthy' });
    closers.push(() => healthy.close());
    let heard = 0;
    healthy.onMessage((m) => m.type === MsgType.Heartbeat && heard++);
    healthy.send(helloMessage('healthy'));
    await waitFor(() => byPath.size === 2);
    const hung = [...byPath.values()].find((c) => c.description !== healthy.path)!;
    const ok = byPath.get(healthy.path)!;
    for (let i = 0; i < 300; i++) {
      hung.send({ type: MsgType.InstallProgram, programId: i, source: 'x'.repeat(4000) });
      ok.send({ type: MsgType.Heartbeat, timeUs: i });
      await sleep(1);
    }
    await waitFor(() => heard === 300, 5000);
    expect(server.channels().find((c) => c.description !== healthy.path)!.stats().congestedSends).toBeGreaterThan(0);
    hung.send({ type: MsgType.Goodbye, reason: 'done' });
    const r = await result;
    expect((r.lines[0] as { received: number }).received).toBe(300); // and the hung one got everything after all
  });

  it('a datapath ignores datagrams that do not come from its agent', async () => {
    const server = await agent();
    server.onChannel((ch) => ch.onMessage((m) => m.type === MsgType.Hello && ch.send(answerHello(m, 'a'))));
    const dp = await connectDatapath({ dir, name: 'picky' });
    closers.push(() => dp.close());
    const got: Message[] = [];
    const errors: string[] = [];
    dp.onMessage((m) => got.push(m));
    dp.onError((e) => errors.push(e.message));
    const rogue = new DgramSocket();
    expect(rogue.bind(join(dir, 'r.sock'))).toBe(0);
    closers.push(() => rogue.close());
    expect(rogue.sendTo(encodeBatch({ type: MsgType.Heartbeat, timeUs: 1 })[0]!, dp.path)).toBe(0);
    dp.send(helloMessage('picky'));
    await waitFor(() => got.length === 1);
    expect(got[0]!.type).toBe(MsgType.Ready);
    expect(errors).toEqual([expect.stringMatching(/ignored a datagram from .*r\.sock: only .*agent\.sock may talk to this datapath/)]);
  });
});

describe('a datapath that dies', () => {
  it('is heard by the agent as a Goodbye on its channel, which then closes', async () => {
    const server = await agent();
    const got: Message[] = [];
    let channel: Channel | null = null;
    server.onChannel((ch) => {
      channel = ch;
      ch.onMessage((m) => got.push(m));
    });
    const { proc, result } = runChild({ dir, mode: 'receive', blockMs: 0 });
    await waitFor(() => channel !== null);
    process.kill(proc.pid!, 'SIGKILL');
    await result;
    channel!.send({ type: MsgType.Heartbeat, timeUs: 1 });
    await waitFor(() => got.some((m) => m.type === MsgType.Goodbye));
    expect(got[got.length - 1]).toMatchObject({ type: MsgType.Goodbye, reason: expect.stringMatching(/datapath socket .*dp-\d+-child\.sock is gone/) });
    expect(server.channels()).toEqual([]);
  });
});

describe('sockets on disk', () => {
  it('creates the directory 0700 and sockets 0600, and removes them on close', async () => {
    const sockDir = join(dir, 'sockets');
    const server = await listenAgent({ dir: sockDir });
    const dp = await connectDatapath({ dir: sockDir, name: 'modes' });
    expect(statSync(sockDir).mode & 0o777).toBe(0o700);
    expect(statSync(server.address).mode & 0o777).toBe(0o600);
    expect(statSync(dp.path).mode & 0o777).toBe(0o600);
    expect(dp.path).toBe(join(sockDir, `dp-${process.pid}-modes.sock`));
    await dp.close();
    await dp.close(); // twice: harmless (unix-dgram itself aborts on a second close)
    await server.close();
    await server.close();
    expect(readdirSync(sockDir)).toEqual([]);
  });

  it('replaces stale socket files and refuses a path a live agent holds', async () => {
    for (const name of ['agent.sock', 'dp-999999.sock']) {
      const s = new DgramSocket();
      expect(s.bind(join(dir, name))).toBe(0);
      s.close(); // the file stays: a crashed process looks like this
    }
    expect(probeSocket(join(dir, 'agent.sock'))).toBe('stale');
    const server = await agent();
    expect(existsSync(join(dir, 'dp-999999.sock'))).toBe(false);
    expect(probeSocket(server.address)).toBe('alive');
    await expect(listenAgent({ dir })).rejects.toThrow(/agent socket .*agent\.sock is in use by a running process/);
    expect(cleanStaleSockets(dir)).toEqual([]);
  });

  it('refuses a socket path too long for sockaddr_un', async () => {
    await expect(listenAgent({ path: join(dir, 'x'.repeat(120)) })).rejects.toThrow(/socket path is \d+ bytes, the limit is 107/);
  });
});

describe('attachment and bad input', () => {
  it('a datapath connects before the agent exists and reaches it when it appears, and again after a restart', async () => {
    const dp = await connectDatapath({ dir, name: 'early' });
    closers.push(() => dp.close());
    const readies: Message[] = [];
    const errors: string[] = [];
    dp.onMessage((m) => readies.push(m));
    dp.onError((e) => errors.push(e.message));
    dp.send(helloMessage('early'));
    await sleep(20);
    expect(errors.some((e) => /is not there/.test(e))).toBe(true);

    const serve = (server: UnixAgentServer): void =>
      server.onChannel((ch) => ch.onMessage((m) => m.type === MsgType.Hello && ch.send(answerHello(m, 'a', 100))));
    for (let life = 1; life <= 2; life++) {
      const server = await listenAgent({ dir });
      serve(server);
      // The datapath's Hello loop (here: the test) finds the agent.
      for (let i = 0; i < 100 && readies.length < life; i++) {
        dp.send(helloMessage('early'));
        await sleep(20);
      }
      expect(readies.length).toBe(life);
      await server.close();
    }
    // An agent killed with SIGKILL leaves its socket file behind: sends are refused until a new one binds.
    const dead = new DgramSocket();
    expect(dead.bind(join(dir, 'agent.sock'))).toBe(0);
    dead.close();
    dp.send(helloMessage('early'));
    await sleep(20);
    const server = await listenAgent({ dir });
    closers.push(() => server.close());
    serve(server);
    for (let i = 0; i < 100 && readies.length < 3; i++) {
      dp.send(helloMessage('early'));
      await sleep(20);
    }
    expect(readies.length).toBe(3);
    expect(readies[0]).toEqual({ type: MsgType.Ready, version: 1, heartbeatMs: 100, agentName: 'a' });
  });

  it('a rogue sender of random bytes gets Errors back; the agent keeps serving its datapath', async () => {
    const server = await agent();
    const received: Message[] = [];
    server.onChannel((ch) => ch.onMessage((m) => received.push(m)));

    const roguePath = join(dir, 'rogue.sock');
    const rogue = new DgramSocket();
    const replies: Buffer[] = [];
    rogue.onMessage((d) => replies.push(d));
    expect(rogue.bind(roguePath)).toBe(0);
    closers.push(() => rogue.close());

    let seed = 7;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) & 0xff;
    let delivered = 0;
    for (let i = 0; i < 200; i++) {
      const junk = Buffer.from(Array.from({ length: 1 + (i % 90) }, rand));
      if (i % 3 === 0) junk.write('CCBT\x01', 0, 'latin1'); // a valid-looking header over garbage
      if (rogue.sendTo(junk, server.address) === 0) delivered++;
      if (i % 5 === 0) await sleep(1);
    }
    expect(delivered).toBeGreaterThan(100);
    // Another version: refused with both versions named.
    const v9 = encodeBatch(helloMessage('rogue'))[0]!;
    v9[4] = 9;
    await sleep(1100); // let the reply rate limit refill
    rogue.sendTo(v9, server.address);

    const dp = await connectDatapath({ dir, name: 'honest' });
    closers.push(() => dp.close());
    dp.send(helloMessage('honest'));
    await waitFor(() => received.length === 1 && replies.length > 1);
    await sleep(50);
    expect(received).toEqual([helloMessage('honest')]);
    expect(server.channels().map((c) => c.description)).toEqual([dp.path]);
    expect(server.rejectedDatagrams).toBe(delivered + 1);

    const errs = replies.map((d) => decodeDatagram(d).messages[0] as ErrorMsg);
    expect(errs.length).toBeGreaterThan(1);
    expect(errs.length).toBeLessThan(delivered / 2); // answers are rate limited
    expect(errs.every((e) => e.type === MsgType.Error)).toBe(true);
    expect(errs[0]!.code).toBe(ErrorCode.Malformed);
    expect(errs[0]!.message).toMatch(/could not decode your datagram/);
    const mismatch = errs[errs.length - 1]!;
    expect(mismatch.code).toBe(ErrorCode.VersionMismatch);
    expect(mismatch.message).toMatch(/you sent version 9, agent .* speaks version 1/);
  });
});
