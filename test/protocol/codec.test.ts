import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DatagramWriter, decodeDatagram, encodeBatch, measureBody } from '../../protocol/codec.js';
import { ErrorCode, MsgType, PROTOCOL_VERSION, type Message } from '../../protocol/messages.js';
import { ProtocolError } from '../../protocol/protocol-error.js';
import { MAX_SOURCE_BYTES } from '../../protocol/limits.js';

const hash = Buffer.from(Array.from({ length: 20 }, (_, i) => i + 1));
const peerId = Buffer.alloc(20, 0xaa);

// Golden vectors: each message alone in a datagram with sequence 0. Layouts: docs/protocol.md.
const GOLDEN: [Message, string][] = [
  [
    { type: MsgType.Hello, version: 1, pid: 4242, datapathName: 'seed' },
    '434342540100010000000000' + '01000d00' + '0100' + '0000' + '92100000' + '0473656564' + '00000000000000',
  ],
  [
    { type: MsgType.Ready, version: 1, heartbeatMs: 500, agentName: 'aimd' },
    '434342540100010000000000' + '02000d00' + '0100' + '0000' + 'f4010000' + '0461696d64' + '00000000000000',
  ],
  [{ type: MsgType.Heartbeat, timeUs: 5_000_000_123 }, '434342540100010000000000' + '03000800' + '7bf2052a01000000' + '00000000'],
  [
    {
      type: MsgType.FlowCreated,
      flowId: 7,
      infoHash: hash,
      peerHost: '127.0.0.1',
      peerPort: 6881,
      peerId,
      pieceLength: 262144,
      pieceCount: 40,
      totalBytes: 10_485_760,
    },
    '434342540100010000000000' +
      '04004a00' +
      '07000000' + 'e11a' + '0000' +
      '0102030405060708090a0b0c0d0e0f1011121314' +
      'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' +
      '00000400' + '28000000' + '0000a00000000000' +
      '093132372e302e302e31' + '0000',
  ],
  [{ type: MsgType.FlowClosed, flowId: 7, reason: 'eof' }, '434342540100010000000000' + '05000800' + '07000000' + '03656f66' + '00000000'],
  [
    { type: MsgType.InstallProgram, programId: 3, source: '(def (Report (sent 0)))' },
    '434342540100010000000000' + '06001d00' + '03000000' + '1700' + '2864656620285265706f7274202873656e742030292929' + '00000000000000',
  ],
  [
    { type: MsgType.ProgramInstalled, programId: 3, reportVars: ['sent', 'rtt'] },
    '434342540100010000000000' + '07000f00' + '03000000' + '0200' + '0473656e74' + '03727474' + '0000000000',
  ],
  [
    { type: MsgType.SwitchProgram, flowId: 7, programId: 3, epoch: 2, fields: [{ name: 'Rate', value: 50000 }] },
    '434342540100010000000000' + '08001b00' + '07000000' + '03000000' + '02000000' + '0100' + '0452617465' + '00000000006ae840' + '00',
  ],
  [
    {
      type: MsgType.UpdateFields,
      flowId: 7,
      fields: [
        { name: 'Rate', value: 1e6 },
        { name: 'Choke', value: 0 },
      ],
    },
    '434342540100010000000000' + '09002100' + '07000000' + '0200' + '0452617465' + '0000000080842e41' + '0543686f6b65' + '0000000000000000' + '000000',
  ],
  [
    { type: MsgType.Report, flowId: 7, programId: 3, epoch: 2, timeUs: 1000, values: [16384, 0.5] },
    '434342540100010000000000' + '0a002800' + '07000000' + '03000000' + '02000000' + '0200' + '0000' + 'e803000000000000' +
      '000000000000d040' + '000000000000e03f' + '00000000',
  ],
  [
    { type: MsgType.TorrentReport, infoHash: hash, timeUs: 2000, values: [1] },
    '434342540100010000000000' + '0b002800' + '0102030405060708090a0b0c0d0e0f1011121314' + '0100' + '0000' + 'd007000000000000' + '000000000000f03f' + '00000000',
  ],
  [
    { type: MsgType.Error, code: ErrorCode.UnknownFlow, flowId: 9, programId: 0, message: 'no flow 9' },
    '434342540100010000000000' + '0c001500' + '0300' + '0900' + '09000000' + '00000000' + '6e6f20666c6f772039' + '00000000000000',
  ],
  [{ type: MsgType.Goodbye, reason: 'bye' }, '434342540100010000000000' + '0d000400' + '03627965'],
];

/** Plain data for comparisons: byte arrays as hex, number arrays as arrays. */
function plain(msg: Message): unknown {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(msg)) {
    if (k === 'infoHash' || k === 'peerId') out[k] = Buffer.from(v as Uint8Array).toString('hex');
    else if (k === 'values') out[k] = Array.from(v as ArrayLike<number>);
    else out[k] = v;
  }
  return out;
}

describe('golden bytes', () => {
  it('covers every message type', () => {
    const types = new Set(GOLDEN.map(([m]) => m.type));
    for (const t of Object.values(MsgType).filter((v) => typeof v === 'number')) expect(types.has(t as MsgType)).toBe(true);
  });

  for (const [msg, hex] of GOLDEN) {
    it(`${MsgType[msg.type]} encodes to and decodes from its golden bytes`, () => {
      const [datagram] = encodeBatch(msg);
      expect(datagram!.toString('hex')).toBe(hex);
      const decoded = decodeDatagram(Buffer.from(hex, 'hex'));
      expect(decoded.errors).toEqual([]);
      expect(decoded.messages.map(plain)).toEqual([plain(msg)]);
    });
  }

  it('puts several messages in one datagram with every body 8-aligned', () => {
    const msgs = GOLDEN.map(([m]) => m);
    const datagrams = encodeBatch(msgs);
    expect(datagrams).toHaveLength(1);
    const d = datagrams[0]!;
    expect(d.readUInt16LE(6)).toBe(msgs.length);
    let o = 12;
    for (const m of msgs) {
      expect(d[o]).toBe(m.type);
      expect((o + 4) % 8).toBe(0);
      o += (4 + d.readUInt16LE(o + 2) + 7) & ~7;
    }
    expect(o).toBe(d.length);
    expect(decodeDatagram(d).messages.map(plain)).toEqual(msgs.map(plain));
  });
});

describe('encoding', () => {
  it('splits a batch into datagrams under the size limit, in order, numbered', () => {
    const reports: Message[] = Array.from({ length: 5000 }, (_, i) => ({
      type: MsgType.Report,
      flowId: i,
      programId: 1,
      epoch: 1,
      timeUs: i * 10,
      values: [i, i / 2, i * 3, 1],
    }));
    const datagrams = encodeBatch(reports, 40_000);
    expect(datagrams.length).toBeGreaterThan(1);
    const seen: Message[] = [];
    datagrams.forEach((d, i) => {
      expect(d.length).toBeLessThanOrEqual(40_000);
      const decoded = decodeDatagram(d);
      expect(decoded.sequence).toBe(i);
      expect(decoded.errors).toEqual([]);
      seen.push(...decoded.messages);
    });
    expect(seen.map(plain)).toEqual(reports.map(plain));
  });

  it('refuses invalid messages with a message naming the field', () => {
    const bad: [unknown, RegExp][] = [
      [{ type: MsgType.Report, flowId: -1, programId: 1, epoch: 1, timeUs: 0, values: [] }, /Report\.flowId/],
      [{ type: MsgType.UpdateFields, flowId: 1, fields: [{ name: '', value: 1 }] }, /must not be empty/],
      [{ type: MsgType.UpdateFields, flowId: 1, fields: [{ name: 'x'.repeat(256), value: 1 }] }, /256 bytes.*limit is 255/],
      [{ type: MsgType.InstallProgram, programId: 1, source: 'x'.repeat(MAX_SOURCE_BYTES + 1) }, /source is 32769 bytes/],
      [{ type: MsgType.FlowCreated, flowId: 1, infoHash: Buffer.alloc(19), peerHost: '', peerPort: 1, peerId: peerId, pieceLength: 1, pieceCount: 1, totalBytes: 1 }, /infoHash must be 20 bytes, got 19/],
      [{ type: 99 }, /unknown message type 99/],
      [null, /must be an object/],
    ];
    for (const [msg, re] of bad) {
      expect(() => encodeBatch(msg as Message)).toThrow(ProtocolError);
      expect(() => encodeBatch(msg as Message)).toThrow(re);
    }
  });

  it('cuts over-long free text at a character boundary instead of refusing it', () => {
    const msg: Message = { type: MsgType.Error, code: ErrorCode.Internal, flowId: 0, programId: 0, message: 'é'.repeat(5000) };
    const [d] = encodeBatch(msg);
    const back = decodeDatagram(d!).messages[0] as { message: string };
    expect(back.message).toBe('é'.repeat(1024));
  });

  it('truncates fractional µs times', () => {
    const [d] = encodeBatch({ type: MsgType.Heartbeat, timeUs: 12.9 });
    expect(decodeDatagram(d!).messages[0]).toEqual({ type: MsgType.Heartbeat, timeUs: 12 });
  });

  it('a writer reports "does not fit" without writing', () => {
    const w = new DatagramWriter(34 * 1024);
    const big: Message = { type: MsgType.InstallProgram, programId: 1, source: 'x'.repeat(20_000) };
    expect(w.append(big)).toBe(true);
    const before = w.byteLength;
    expect(w.append(big, measureBody(big))).toBe(false);
    expect(w.byteLength).toBe(before);
    expect(w.messageCount).toBe(1);
  });
});

describe('decoding bad input', () => {
  const good = encodeBatch(GOLDEN.map(([m]) => m))[0]!;

  it('names the problem: truncated header, bad magic, version, overrun, unknown type, trailing bytes', () => {
    expect(() => decodeDatagram(Buffer.alloc(5))).toThrow(/datagram truncated: 5 bytes/);
    expect(() => decodeDatagram(Buffer.from('XXXX0100000000000000000000', 'hex'))).toThrow(ProtocolError);
    const magic = Buffer.from(good);
    magic[0] = 0x58;
    expect(() => decodeDatagram(magic)).toThrow(/bad magic: expected 43 43 42 54 \("CCBT"\), got 58 43 42 54/);

    const v2 = Buffer.from(good);
    v2[4] = 2;
    try {
      decodeDatagram(v2);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as ProtocolError).code).toBe(ErrorCode.VersionMismatch);
      expect((err as Error).message).toMatch(/version 2.*version 1/);
    }

    const cut = good.subarray(0, 60);
    const r = decodeDatagram(cut);
    expect(r.messages.length).toBeGreaterThan(0);
    expect(r.errors.map((e) => e.message).join()).toMatch(/length overrun|truncated/);

    const unknown = encodeBatch([{ type: MsgType.Goodbye, reason: 'x' }, { type: MsgType.Heartbeat, timeUs: 1 }])[0]!;
    unknown[12] = 200;
    const u = decodeDatagram(unknown);
    expect(u.errors[0]!.message).toMatch(/unknown message type 200 skipped/);
    expect(u.messages).toEqual([{ type: MsgType.Heartbeat, timeUs: 1 }]);

    const trailing = Buffer.concat([encodeBatch({ type: MsgType.Goodbye, reason: 'x' })[0]!, Buffer.alloc(8)]);
    expect(decodeDatagram(trailing).errors[0]!.message).toMatch(/8 trailing bytes/);
  });

  it('reads Error messages from any version, so a version refusal is always understood', () => {
    const refusal = encodeBatch({ type: MsgType.Error, code: ErrorCode.VersionMismatch, flowId: 0, programId: 0, message: 'no' })[0]!;
    refusal[4] = PROTOCOL_VERSION + 1;
    const r = decodeDatagram(refusal);
    expect(r.version).toBe(PROTOCOL_VERSION + 1);
    expect(r.messages).toEqual([{ type: MsgType.Error, code: ErrorCode.VersionMismatch, flowId: 0, programId: 0, message: 'no' }]);
  });

  it('random bytes give ProtocolErrors, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, withHeader) => {
        const b = Buffer.from(bytes);
        if (withHeader && b.length >= 8) {
          b.write('CCBT', 0, 'latin1');
          b[4] = PROTOCOL_VERSION;
        }
        expectOnlyProtocolErrors(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('every truncation of a valid datagram gives errors, never a crash', () => {
    for (let n = 0; n < good.length; n++) {
      const r = expectOnlyProtocolErrors(good.subarray(0, n));
      if (r !== null) expect(r.errors.length).toBeGreaterThan(0);
    }
  });

  it('bit flips anywhere give messages or ProtocolErrors, never a crash', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: good.length * 8 - 1 }), { minLength: 1, maxLength: 4 }), (bits) => {
        const b = Buffer.from(good);
        for (const bit of bits) b[bit >> 3]! ^= 1 << (bit & 7);
        expectOnlyProtocolErrors(b);
      }),
      { numRuns: 3000 },
    );
  });

  it('frames with random types and bodies behind a valid header never crash the decoder', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), fc.uint8Array({ maxLength: 80 })), { maxLength: 6 }), (frames) => {
        const parts: Buffer[] = [];
        const header = Buffer.alloc(12);
        header.write('CCBT', 0, 'latin1');
        header[4] = PROTOCOL_VERSION;
        header.writeUInt16LE(frames.length, 6);
        parts.push(header);
        for (const [type, body] of frames) {
          const f = Buffer.alloc((4 + body.length + 7) & ~7);
          f[0] = type;
          f.writeUInt16LE(body.length, 2);
          f.set(body, 4);
          parts.push(f);
        }
        expectOnlyProtocolErrors(Buffer.concat(parts));
      }),
      { numRuns: 3000 },
    );
  });
});

function expectOnlyProtocolErrors(b: Buffer): ReturnType<typeof decodeDatagram> | null {
  try {
    const r = decodeDatagram(b);
    for (const e of r.errors) expect(e).toBeInstanceOf(ProtocolError);
    return r;
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return null;
  }
}

// ---- random messages round-trip --------------------------------------------------------------

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const name = fc.string({ minLength: 1, maxLength: 40 });
const text = fc.string({ maxLength: 60 });
const bytes20 = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((a) => Buffer.from(a));
const time = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const f64 = fc.double();
const fields = fc.array(fc.record({ name, value: f64 }), { maxLength: 8 });
const values = fc.array(f64, { maxLength: 40 });

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant(MsgType.Hello as const), version: fc.integer({ min: 0, max: 0xffff }), datapathName: text, pid: u32 }),
  fc.record({ type: fc.constant(MsgType.Ready as const), version: fc.integer({ min: 0, max: 0xffff }), heartbeatMs: u32, agentName: text }),
  fc.record({ type: fc.constant(MsgType.Heartbeat as const), timeUs: time }),
  fc.record({
    type: fc.constant(MsgType.FlowCreated as const),
    flowId: u32,
    infoHash: bytes20,
    peerHost: text,
    peerPort: fc.integer({ min: 0, max: 0xffff }),
    peerId: bytes20,
    pieceLength: u32,
    pieceCount: u32,
    totalBytes: time,
  }),
  fc.record({ type: fc.constant(MsgType.FlowClosed as const), flowId: u32, reason: text }),
  fc.record({ type: fc.constant(MsgType.InstallProgram as const), programId: u32, source: fc.string({ maxLength: 2000 }) }),
  fc.record({ type: fc.constant(MsgType.ProgramInstalled as const), programId: u32, reportVars: fc.array(name, { maxLength: 10 }) }),
  fc.record({ type: fc.constant(MsgType.SwitchProgram as const), flowId: u32, programId: u32, epoch: u32, fields }),
  fc.record({ type: fc.constant(MsgType.UpdateFields as const), flowId: u32, fields }),
  fc.record({ type: fc.constant(MsgType.Report as const), flowId: u32, programId: u32, epoch: u32, timeUs: time, values }),
  fc.record({ type: fc.constant(MsgType.TorrentReport as const), infoHash: bytes20, timeUs: time, values }),
  fc.record({ type: fc.constant(MsgType.Error as const), code: fc.constantFrom(...[1, 2, 3, 4, 5, 6, 7, 8, 9] as ErrorCode[]), flowId: u32, programId: u32, message: text }),
  fc.record({ type: fc.constant(MsgType.Goodbye as const), reason: text }),
);

describe('random messages', () => {
  it('round-trip through encodeBatch/decodeDatagram', () => {
    fc.assert(
      fc.property(fc.array(message, { maxLength: 30 }), (msgs) => {
        const datagrams = encodeBatch(msgs, 34 * 1024);
        const back: Message[] = [];
        for (const d of datagrams) {
          const r = decodeDatagram(d);
          expect(r.errors).toEqual([]);
          back.push(...r.messages);
        }
        expect(back.map(plain)).toEqual(msgs.map(plain));
      }),
      { numRuns: 500 },
    );
  });
});
