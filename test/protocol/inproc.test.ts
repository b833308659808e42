import { describe, expect, it } from 'vitest';
import { createInprocAgentServer } from '../../protocol/inproc-transport.js';
import { MsgType, type Message, type ReportMsg } from '../../protocol/messages.js';
import type { Channel } from '../../protocol/transport.js';
import { answerHello, helloMessage } from '../../protocol/handshake.js';
import { ProtocolError } from '../../protocol/protocol-error.js';

const waitFor = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 2));
  }
};

describe('in-process transport', () => {
  it('carries a handshake and thousands of reports, in order, one channel per datapath', async () => {
    const server = createInprocAgentServer('agent');
    const channels: Channel[] = [];
    const reports = new Map<string, number[]>();
    server.onChannel((ch) => {
      channels.push(ch);
      ch.onMessage((m) => {
        if (m.type === MsgType.Hello) ch.send(answerHello(m, 'agent', 100));
        if (m.type === MsgType.Report) {
          const list = reports.get(ch.description) ?? [];
          list.push(m.values[0]!);
          reports.set(ch.description, list);
        }
      });
    });
    const a = server.connect('a');
    const b = server.connect('b');
    const readyA: Message[] = [];
    a.onMessage((m) => readyA.push(m));
    a.send(helloMessage('a'));
    b.send(helloMessage('b'));
    const values = new Float64Array(2); // reused on purpose: the agent must get copies
    for (let i = 0; i < 5000; i++) {
      values[0] = i;
      a.send({ type: MsgType.Report, flowId: 1, programId: 1, epoch: 1, timeUs: i, values });
      if (i % 2 === 0) b.send({ type: MsgType.Report, flowId: 2, programId: 1, epoch: 1, timeUs: i, values });
      if (i % 500 === 0) await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => (reports.get('inproc:a')?.length ?? 0) === 5000 && (reports.get('inproc:b')?.length ?? 0) === 2500);
    expect(channels.map((c) => c.description).sort()).toEqual(['inproc:a', 'inproc:b']);
    expect(reports.get('inproc:a')).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(readyA).toEqual([{ type: MsgType.Ready, version: 1, heartbeatMs: 100, agentName: 'agent' }]);
    await a.close();
    await b.close();
    await server.close();
  });

  it('refuses an invalid message at send() and keeps working; a throwing handler is reported', async () => {
    const server = createInprocAgentServer();
    const got: Message[] = [];
    const errors: Error[] = [];
    server.onChannel((ch) => {
      ch.onError((e) => errors.push(e));
      ch.onMessage((m) => {
        if (m.type === MsgType.Goodbye && m.reason === 'boom') throw new Error('handler bug');
        got.push(m);
      });
    });
    const dp = server.connect('dp');
    expect(() => dp.send({ type: MsgType.UpdateFields, flowId: 1, fields: [{ name: '', value: 1 }] })).toThrow(ProtocolError);
    dp.send({ type: MsgType.Goodbye, reason: 'boom' });
    dp.send({ type: MsgType.Goodbye, reason: 'fine' });
    await waitFor(() => got.length === 1);
    expect(got).toEqual([{ type: MsgType.Goodbye, reason: 'fine' }]);
    expect(errors.map((e) => e.message)).toEqual(['a message handler threw on Goodbye: handler bug']);
    await dp.close();
    await server.close();
  });

  it('tells the agent when the datapath is gone, and the datapath when the agent is gone', async () => {
    const server = createInprocAgentServer();
    let channel: Channel | null = null;
    const agentErrors: Error[] = [];
    const agentGot: Message[] = [];
    server.onChannel((ch) => {
      channel = ch;
      ch.onError((e) => agentErrors.push(e));
      ch.onMessage((m) => agentGot.push(m));
    });
    const dp = server.connect('dp');
    const dpErrors: Error[] = [];
    dp.onError((e) => dpErrors.push(e));
    dp.send(helloMessage('dp'));
    await waitFor(() => channel !== null);
    await dp.close();
    channel!.send({ type: MsgType.Heartbeat, timeUs: 1 });
    await waitFor(() => agentErrors.length > 0);
    expect(agentErrors[0]!.message).toMatch(/inproc:dp is not there: 1 messages discarded/);
    await waitFor(() => agentGot.length === 2);
    expect(agentGot[1]).toEqual({ type: MsgType.Goodbye, reason: 'datapath dp is gone' });

    const dp2 = server.connect('dp2');
    dp2.onError((e) => dpErrors.push(e));
    await server.close();
    await server.close(); // twice is harmless
    const r: ReportMsg = { type: MsgType.Report, flowId: 1, programId: 1, epoch: 1, timeUs: 0, values: [1] };
    dp2.send(r);
    await waitFor(() => dpErrors.length > 0);
    expect(dpErrors[0]!.message).toMatch(/not there/);
    await dp2.close();
    await dp2.close();
  });
});
