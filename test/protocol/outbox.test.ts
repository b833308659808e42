// The send queue against a socket stand-in whose room we control: the queue's own rules (order,
// coalescing, drop accounting, resend) are what is under test. Real sockets: unix.test.ts.
import { describe, expect, it } from 'vitest';
import { Outbox, type SendOutcome } from '../../protocol/outbox.js';
import { decodeDatagram } from '../../protocol/codec.js';
import { ErrorCode, MsgType, type Message } from '../../protocol/messages.js';

class ValveSink {
  open = true;
  gone = false;
  delivered: Message[] = [];
  sequences: number[] = [];
  trySend(d: Buffer): SendOutcome {
    if (this.gone) return 'gone';
    if (!this.open) return 'congested';
    const r = decodeDatagram(d);
    this.sequences.push(r.sequence);
    this.delivered.push(...r.messages);
    return 'sent';
  }
}

function setup(maxBacklogDatagrams = 2): { sink: ValveSink; outbox: Outbox; resume: () => void; discards: number[] } {
  const sink = new ValveSink();
  let resumeFn: (() => void) | null = null;
  const discards: number[] = [];
  const outbox = new Outbox(sink, {
    maxDatagramBytes: 34 * 1024,
    maxBacklogDatagrams,
    waitForRoom: (r) => (resumeFn = r),
    onDiscard: (n) => discards.push(n),
  });
  return { sink, outbox, resume: () => resumeFn?.(), discards };
}

const report = (i: number): Message => ({ type: MsgType.Report, flowId: 1, programId: 1, epoch: 1, timeUs: i, values: [i] });
const update = (flowId: number, name: string, value: number): Message => ({ type: MsgType.UpdateFields, flowId, fields: [{ name, value }] });
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('Outbox', () => {
  it('coalesces one tick of messages into one datagram, numbered in order', async () => {
    const { sink, outbox } = setup();
    for (let i = 0; i < 100; i++) outbox.send(report(i));
    expect(sink.delivered).toEqual([]); // nothing leaves before the end of the tick
    await tick();
    expect(sink.delivered).toHaveLength(100);
    outbox.send(report(100));
    await tick();
    expect(sink.sequences).toEqual([0, 1]);
    expect(outbox.stats().sentDatagrams).toBe(2);
  });

  it('keeps congested datagrams and resends them in order when there is room', async () => {
    const { sink, outbox, resume } = setup(10);
    sink.open = false;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 10; i++) outbox.send(report(round * 10 + i));
      await tick();
    }
    expect(outbox.stats().queuedDatagrams).toBe(5);
    sink.open = true;
    resume();
    expect(sink.delivered.map((m) => (m as { timeUs: number }).timeUs)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(sink.sequences).toEqual([0, 1, 2, 3, 4]);
    expect(outbox.stats().congestedSends).toBe(1);
  });

  it('over the bound: merges updates per flow (latest wins), keeps control order, counts and reports dropped reports', async () => {
    const { sink, outbox, resume } = setup(1);
    sink.open = false;
    outbox.send(report(0));
    await tick(); // datagram 1 waits: backlog full from here on
    outbox.send(update(1, 'Rate', 10));
    outbox.send(report(1));
    outbox.send(update(1, 'Choke', 1));
    outbox.send(update(2, 'Rate', 20));
    outbox.send(update(1, 'Rate', 11)); // merges into flow 1's pending update
    outbox.send({ type: MsgType.SwitchProgram, flowId: 1, programId: 2, epoch: 2, fields: [] });
    outbox.send(update(1, 'Rate', 12)); // after the switch: must not merge across it
    outbox.send(report(2));
    expect(outbox.stats()).toMatchObject({ overflowMessages: 4, droppedReports: 2, coalescedUpdates: 2 });
    sink.open = true;
    resume();
    const expected: Message[] = [
      report(0),
      {
        type: MsgType.Error,
        code: ErrorCode.Overloaded,
        flowId: 0,
        programId: 0,
        message: 'receiver not keeping up: dropped 2 reports while the send queue was full',
      },
      { type: MsgType.UpdateFields, flowId: 1, fields: [{ name: 'Rate', value: 11 }, { name: 'Choke', value: 1 }] },
      update(2, 'Rate', 20),
      { type: MsgType.SwitchProgram, flowId: 1, programId: 2, epoch: 2, fields: [] },
      update(1, 'Rate', 12),
    ];
    expect(sink.delivered).toEqual(expected.map((m) => (m.type === MsgType.Report ? { ...m, values: new Float64Array(m.values) } : m)));
  });

  it('a gone peer discards and says how much; the next send tries again', async () => {
    const { sink, outbox, discards } = setup();
    sink.gone = true;
    outbox.send(report(0));
    outbox.send(report(1));
    await tick();
    expect(discards).toEqual([2]);
    sink.gone = false;
    outbox.send(report(2));
    await tick();
    expect(sink.delivered).toHaveLength(1);
  });

  it('close() sends what the socket takes and returns what was left', async () => {
    const { sink, outbox } = setup();
    outbox.send(report(0));
    expect(outbox.close()).toBe(0);
    expect(sink.delivered).toHaveLength(1);
    const b = setup();
    b.sink.open = false;
    b.outbox.send(report(0));
    b.outbox.send(report(1));
    expect(b.outbox.close()).toBe(2);
    b.outbox.send(report(2)); // after close: ignored, no throw
    await tick();
    expect(b.sink.delivered).toEqual([]);
  });
});
