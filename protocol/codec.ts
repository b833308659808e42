// Bytes of the datapath–agent protocol: one datagram = a 12-byte header and framed messages, all
// little-endian. docs/protocol.md is the byte-level reference; this file implements it.
//
// Frames are padded so that every message body starts 8-aligned from the datagram's start: report
// values are then read as a Float64Array view of the received datagram, with no copy.
import { endianness } from 'node:os';
import {
  ErrorCode,
  MsgType,
  PROTOCOL_VERSION,
  type FieldValue,
  type Message,
} from './messages.js';
import { ProtocolError } from './protocol-error.js';
import {
  DEFAULT_MAX_DATAGRAM_BYTES,
  FRAME_HEADER_BYTES,
  HASH_BYTES,
  HEADER_BYTES,
  MAGIC,
  MAX_DATAGRAM_BYTES,
  MAX_ERROR_TEXT_BYTES,
  MAX_FIELDS,
  MAX_NAME_BYTES,
  MAX_REASON_BYTES,
  MAX_REPORT_VALUES,
  MAX_REPORT_VARS,
  MAX_SOURCE_BYTES,
  MIN_MAX_DATAGRAM_BYTES,
  U16_MAX,
  U32_MAX,
} from './limits.js';

const LITTLE_ENDIAN_HOST = endianness() === 'LE';
const TWO_32 = 4_294_967_296;
const U64_HI_MAX = 0x1f_ffff; // values stay ≤ 2^53 − 1 (exact in a JS number)

const align8 = (n: number): number => (n + 7) & ~7;

export const MSG_TYPE_NAMES: Readonly<Record<number, string>> = {
  [MsgType.Hello]: 'Hello',
  [MsgType.Ready]: 'Ready',
  [MsgType.Heartbeat]: 'Heartbeat',
  [MsgType.FlowCreated]: 'FlowCreated',
  [MsgType.FlowClosed]: 'FlowClosed',
  [MsgType.InstallProgram]: 'InstallProgram',
  [MsgType.ProgramInstalled]: 'ProgramInstalled',
  [MsgType.SwitchProgram]: 'SwitchProgram',
  [MsgType.UpdateFields]: 'UpdateFields',
  [MsgType.Report]: 'Report',
  [MsgType.TorrentReport]: 'TorrentReport',
  [MsgType.Error]: 'Error',
  [MsgType.Goodbye]: 'Goodbye',
};

const typeName = (t: number): string => MSG_TYPE_NAMES[t] ?? `type ${t}`;

// ---------------------------------------------------------------------------------------------
// Encode-side checks: a message from our own code that cannot be encoded is a bug the caller hears
// about at once (ProtocolError from send/encode), before any byte is written.

function checkUint(v: unknown, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new ProtocolError(`${what} must be an integer from 0 to ${max}, got ${String(v)}`);
  }
  return v;
}
const checkU16 = (v: unknown, what: string): number => checkUint(v, U16_MAX, what);
const checkU32 = (v: unknown, what: string): number => checkUint(v, U32_MAX, what);
const checkU64 = (v: unknown, what: string): number => checkUint(v, Number.MAX_SAFE_INTEGER, what);

/** Times may be fractional µs (performance.now() based): they are truncated, not refused. */
function checkTimeUs(v: unknown, what: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= Number.MAX_SAFE_INTEGER)) {
    throw new ProtocolError(`${what} must be a number of µs from 0 to 2^53−1, got ${String(v)}`);
  }
  return Math.floor(v);
}

function checkF64(v: unknown, what: string): number {
  if (typeof v !== 'number') throw new ProtocolError(`${what} must be a number, got ${typeof v}`);
  return v;
}

function checkHash(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== HASH_BYTES) {
    const got = v instanceof Uint8Array ? `${v.length} bytes` : typeof v;
    throw new ProtocolError(`${what} must be ${HASH_BYTES} bytes, got ${got}`);
  }
  return v;
}

/** Byte length of a bounded string; throws when it is not a string or too long. */
function strictStringBytes(v: unknown, max: number, what: string, allowEmpty = true): number {
  if (typeof v !== 'string') throw new ProtocolError(`${what} must be a string, got ${typeof v}`);
  const n = Buffer.byteLength(v, 'utf8');
  if (n > max) throw new ProtocolError(`${what} is ${n} bytes of UTF-8, the limit is ${max}`);
  if (n === 0 && !allowEmpty) throw new ProtocolError(`${what} must not be empty`);
  return n;
}

/** Byte length of a free-text string that is cut (not refused) beyond `max`. */
function lenientStringBytes(v: unknown, max: number, what: string): number {
  if (typeof v !== 'string') throw new ProtocolError(`${what} must be a string, got ${typeof v}`);
  return Math.min(Buffer.byteLength(v, 'utf8'), max);
}

function checkFields(fields: unknown, what: string): number {
  if (!Array.isArray(fields)) throw new ProtocolError(`${what}.fields must be an array`);
  if (fields.length > MAX_FIELDS) {
    throw new ProtocolError(`${what} sets ${fields.length} fields, the limit is ${MAX_FIELDS}`);
  }
  let bytes = 2;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as FieldValue | null;
    if (f === null || typeof f !== 'object') throw new ProtocolError(`${what}.fields[${i}] must be {name, value}`);
    bytes += 1 + strictStringBytes(f.name, MAX_NAME_BYTES, `${what}.fields[${i}].name`, false) + 8;
    checkF64(f.value, `${what}.fields[${i}].value`);
  }
  return bytes;
}

function checkValues(values: unknown, what: string): number {
  if (!(values instanceof Float64Array) && !Array.isArray(values)) {
    throw new ProtocolError(`${what}.values must be a Float64Array or an array of numbers`);
  }
  if (values.length > MAX_REPORT_VALUES) {
    throw new ProtocolError(`${what} has ${values.length} values, the limit is ${MAX_REPORT_VALUES}`);
  }
  if (Array.isArray(values)) {
    for (let i = 0; i < values.length; i++) checkF64(values[i], `${what}.values[${i}]`);
  }
  return values.length;
}

/**
 * Checks a message and returns the most bytes its body can take (free-text strings may come out a
 * little shorter when cut at a character boundary).
 */
export function measureBody(msg: Message): number {
  if (msg === null || typeof msg !== 'object') throw new ProtocolError(`a message must be an object, got ${String(msg)}`);
  switch (msg.type) {
    case MsgType.Hello:
      checkU16(msg.version, 'Hello.version');
      checkU32(msg.pid, 'Hello.pid');
      return 9 + strictStringBytes(msg.datapathName, MAX_NAME_BYTES, 'Hello.datapathName');
    case MsgType.Ready:
      checkU16(msg.version, 'Ready.version');
      checkU32(msg.heartbeatMs, 'Ready.heartbeatMs');
      return 9 + strictStringBytes(msg.agentName, MAX_NAME_BYTES, 'Ready.agentName');
    case MsgType.Heartbeat:
      checkTimeUs(msg.timeUs, 'Heartbeat.timeUs');
      return 8;
    case MsgType.FlowCreated:
      checkU32(msg.flowId, 'FlowCreated.flowId');
      checkHash(msg.infoHash, 'FlowCreated.infoHash');
      checkU16(msg.peerPort, 'FlowCreated.peerPort');
      checkHash(msg.peerId, 'FlowCreated.peerId');
      checkU32(msg.pieceLength, 'FlowCreated.pieceLength');
      checkU32(msg.pieceCount, 'FlowCreated.pieceCount');
      checkU64(msg.totalBytes, 'FlowCreated.totalBytes');
      return 65 + strictStringBytes(msg.peerHost, MAX_NAME_BYTES, 'FlowCreated.peerHost');
    case MsgType.FlowClosed:
      checkU32(msg.flowId, 'FlowClosed.flowId');
      return 5 + lenientStringBytes(msg.reason, MAX_REASON_BYTES, 'FlowClosed.reason');
    case MsgType.InstallProgram:
      checkU32(msg.programId, 'InstallProgram.programId');
      return 6 + strictStringBytes(msg.source, MAX_SOURCE_BYTES, 'InstallProgram.source');
    case MsgType.ProgramInstalled: {
      checkU32(msg.programId, 'ProgramInstalled.programId');
      const vars: unknown = msg.reportVars;
      if (!Array.isArray(vars)) throw new ProtocolError('ProgramInstalled.reportVars must be an array of names');
      if (vars.length > MAX_REPORT_VARS) {
        throw new ProtocolError(`ProgramInstalled has ${vars.length} report variables, the limit is ${MAX_REPORT_VARS}`);
      }
      let n = 6;
      for (let i = 0; i < vars.length; i++) {
        n += 1 + strictStringBytes(vars[i], MAX_NAME_BYTES, `ProgramInstalled.reportVars[${i}]`, false);
      }
      return n;
    }
    case MsgType.SwitchProgram:
      checkU32(msg.flowId, 'SwitchProgram.flowId');
      checkU32(msg.programId, 'SwitchProgram.programId');
      checkU32(msg.epoch, 'SwitchProgram.epoch');
      return 12 + checkFields(msg.fields, 'SwitchProgram');
    case MsgType.UpdateFields:
      checkU32(msg.flowId, 'UpdateFields.flowId');
      return 4 + checkFields(msg.fields, 'UpdateFields');
    case MsgType.Report:
      checkU32(msg.flowId, 'Report.flowId');
      checkU32(msg.programId, 'Report.programId');
      checkU32(msg.epoch, 'Report.epoch');
      checkTimeUs(msg.timeUs, 'Report.timeUs');
      return 24 + 8 * checkValues(msg.values, 'Report');
    case MsgType.TorrentReport:
      checkHash(msg.infoHash, 'TorrentReport.infoHash');
      checkTimeUs(msg.timeUs, 'TorrentReport.timeUs');
      return 32 + 8 * checkValues(msg.values, 'TorrentReport');
    case MsgType.Error:
      checkU16(msg.code, 'Error.code');
      checkU32(msg.flowId, 'Error.flowId');
      checkU32(msg.programId, 'Error.programId');
      return 12 + lenientStringBytes(msg.message, MAX_ERROR_TEXT_BYTES, 'Error.message');
    case MsgType.Goodbye:
      return 1 + lenientStringBytes(msg.reason, MAX_REASON_BYTES, 'Goodbye.reason');
    default:
      throw new ProtocolError(`unknown message type ${String((msg as { type?: unknown }).type)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Writing. The caller has measured (and so validated) the message; these only place bytes.

function writeU64(b: Buffer, o: number, v: number): void {
  b.writeUInt32LE(v % TWO_32, o);
  b.writeUInt32LE(Math.floor(v / TWO_32), o + 4);
}

/** u8 length + bytes; the string was checked to fit. Returns the end offset. */
function writeStr8(b: Buffer, o: number, s: string, max: number): number {
  const n = b.write(s, o + 1, max, 'utf8');
  b[o] = n;
  return o + 1 + n;
}

function writeFields(b: Buffer, o: number, fields: readonly FieldValue[]): number {
  b.writeUInt16LE(fields.length, o);
  o += 2;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    o = writeStr8(b, o, f.name, MAX_NAME_BYTES);
    b.writeDoubleLE(f.value, o);
    o += 8;
  }
  return o;
}

function writeValues(b: Buffer, f64: Float64Array | null, o: number, values: Float64Array | readonly number[]): number {
  const n = values.length;
  if (f64 !== null && ((b.byteOffset + o) & 7) === 0) {
    const at = (b.byteOffset + o - f64.byteOffset) / 8;
    if (values instanceof Float64Array) f64.set(values, at);
    else for (let i = 0; i < n; i++) f64[at + i] = values[i]!;
  } else {
    for (let i = 0; i < n; i++) b.writeDoubleLE(values[i]!, o + 8 * i);
  }
  return o + 8 * n;
}

/** Writes a measured message's body at `o`; returns the end offset. */
function writeBody(b: Buffer, f64: Float64Array | null, o: number, msg: Message): number {
  switch (msg.type) {
    case MsgType.Hello:
      b.writeUInt16LE(msg.version, o);
      b.writeUInt16LE(0, o + 2);
      b.writeUInt32LE(msg.pid, o + 4);
      return writeStr8(b, o + 8, msg.datapathName, MAX_NAME_BYTES);
    case MsgType.Ready:
      b.writeUInt16LE(msg.version, o);
      b.writeUInt16LE(0, o + 2);
      b.writeUInt32LE(msg.heartbeatMs, o + 4);
      return writeStr8(b, o + 8, msg.agentName, MAX_NAME_BYTES);
    case MsgType.Heartbeat:
      writeU64(b, o, Math.floor(msg.timeUs));
      return o + 8;
    case MsgType.FlowCreated:
      b.writeUInt32LE(msg.flowId, o);
      b.writeUInt16LE(msg.peerPort, o + 4);
      b.writeUInt16LE(0, o + 6);
      b.set(msg.infoHash, o + 8);
      b.set(msg.peerId, o + 28);
      b.writeUInt32LE(msg.pieceLength, o + 48);
      b.writeUInt32LE(msg.pieceCount, o + 52);
      writeU64(b, o + 56, msg.totalBytes);
      return writeStr8(b, o + 64, msg.peerHost, MAX_NAME_BYTES);
    case MsgType.FlowClosed:
      b.writeUInt32LE(msg.flowId, o);
      return writeStr8(b, o + 4, msg.reason, MAX_REASON_BYTES);
    case MsgType.InstallProgram: {
      b.writeUInt32LE(msg.programId, o);
      const n = b.write(msg.source, o + 6, MAX_SOURCE_BYTES, 'utf8');
      b.writeUInt16LE(n, o + 4);
      return o + 6 + n;
    }
    case MsgType.ProgramInstalled: {
      b.writeUInt32LE(msg.programId, o);
      b.writeUInt16LE(msg.reportVars.length, o + 4);
      let p = o + 6;
      for (const name of msg.reportVars) p = writeStr8(b, p, name, MAX_NAME_BYTES);
      return p;
    }
    case MsgType.SwitchProgram:
      b.writeUInt32LE(msg.flowId, o);
      b.writeUInt32LE(msg.programId, o + 4);
      b.writeUInt32LE(msg.epoch, o + 8);
      return writeFields(b, o + 12, msg.fields);
    case MsgType.UpdateFields:
      b.writeUInt32LE(msg.flowId, o);
      return writeFields(b, o + 4, msg.fields);
    case MsgType.Report:
      b.writeUInt32LE(msg.flowId, o);
      b.writeUInt32LE(msg.programId, o + 4);
      b.writeUInt32LE(msg.epoch, o + 8);
      b.writeUInt16LE(msg.values.length, o + 12);
      b.writeUInt16LE(0, o + 14);
      writeU64(b, o + 16, Math.floor(msg.timeUs));
      return writeValues(b, f64, o + 24, msg.values);
    case MsgType.TorrentReport:
      b.set(msg.infoHash, o);
      b.writeUInt16LE(msg.values.length, o + 20);
      b.writeUInt16LE(0, o + 22);
      writeU64(b, o + 24, Math.floor(msg.timeUs));
      return writeValues(b, f64, o + 32, msg.values);
    case MsgType.Error: {
      b.writeUInt16LE(msg.code, o);
      b.writeUInt32LE(msg.flowId, o + 4);
      b.writeUInt32LE(msg.programId, o + 8);
      const n = b.write(msg.message, o + 12, MAX_ERROR_TEXT_BYTES, 'utf8');
      b.writeUInt16LE(n, o + 2);
      return o + 12 + n;
    }
    case MsgType.Goodbye:
      return writeStr8(b, o, msg.reason, MAX_REASON_BYTES);
  }
}

/**
 * Builds one datagram in a buffer it owns and reuses: append messages until one does not fit, seal,
 * send the sealed view (the kernel copies it), reset. No allocation per message.
 */
export class DatagramWriter {
  readonly maxBytes: number;
  private readonly buf: Buffer;
  private readonly f64: Float64Array | null;
  private offset = HEADER_BYTES;
  private count = 0;

  constructor(maxBytes: number = DEFAULT_MAX_DATAGRAM_BYTES) {
    if (!Number.isInteger(maxBytes) || maxBytes < MIN_MAX_DATAGRAM_BYTES || maxBytes > MAX_DATAGRAM_BYTES) {
      throw new ProtocolError(
        `max datagram size must be an integer from ${MIN_MAX_DATAGRAM_BYTES} to ${MAX_DATAGRAM_BYTES} bytes, got ${maxBytes}`,
      );
    }
    this.maxBytes = maxBytes;
    // allocUnsafeSlow: a buffer of its own at byte offset 0, so body offsets are 8-aligned in memory.
    this.buf = Buffer.allocUnsafeSlow(maxBytes);
    this.f64 = LITTLE_ENDIAN_HOST ? new Float64Array(this.buf.buffer, this.buf.byteOffset, maxBytes >>> 3) : null;
    MAGIC.copy(this.buf, 0);
    this.buf[4] = PROTOCOL_VERSION;
    this.buf[5] = 0;
    this.reset();
  }

  get messageCount(): number {
    return this.count;
  }
  get byteLength(): number {
    return this.offset;
  }

  reset(): void {
    this.offset = HEADER_BYTES;
    this.count = 0;
  }

  /**
   * Appends `msg` and returns true, or returns false (writing nothing) when it does not fit in what
   * is left. Throws ProtocolError when the message is invalid. `bodyBound` is measureBody(msg) when
   * the caller has it already.
   */
  append(msg: Message, bodyBound: number = measureBody(msg)): boolean {
    const start = this.offset;
    if (start + align8(FRAME_HEADER_BYTES + bodyBound) > this.maxBytes) return false;
    if (this.count === U16_MAX) return false;
    const b = this.buf;
    const bodyStart = start + FRAME_HEADER_BYTES;
    const end = writeBody(b, this.f64, bodyStart, msg);
    const frameEnd = start + align8(end - start);
    b[start] = msg.type;
    b[start + 1] = 0;
    b.writeUInt16LE(end - bodyStart, start + 2);
    if (frameEnd > end) b.fill(0, end, frameEnd);
    this.offset = frameEnd;
    this.count++;
    return true;
  }

  /** The datagram so far, as a view into the writer's buffer (valid until the next append/reset). */
  seal(sequence = 0): Buffer {
    this.buf.writeUInt16LE(this.count, 6);
    this.buf.writeUInt32LE(sequence >>> 0, 8);
    return this.buf.subarray(0, this.offset);
  }
}

/** Writes a sequence number into a sealed datagram (senders number datagrams as they hand them over). */
export function setDatagramSequence(datagram: Buffer, sequence: number): void {
  datagram.writeUInt32LE(sequence >>> 0, 8);
}

/** Number of messages a well-formed datagram announces. */
export function datagramMessageCount(datagram: Buffer): number {
  return datagram.length >= HEADER_BYTES ? datagram.readUInt16LE(6) : 0;
}

/**
 * Encodes messages into as few datagrams as fit under `maxBytes` each, in order. Each returned
 * Buffer is its own copy. Throws ProtocolError naming the first invalid message.
 */
export function encodeBatch(msgs: readonly Message[] | Message, maxBytes: number = DEFAULT_MAX_DATAGRAM_BYTES): Buffer[] {
  const list: readonly Message[] = Array.isArray(msgs) ? msgs : [msgs as Message];
  const writer = new DatagramWriter(maxBytes);
  const out: Buffer[] = [];
  for (let i = 0; i < list.length; i++) {
    const msg = list[i]!;
    let bound: number;
    try {
      bound = measureBody(msg);
    } catch (err) {
      throw err instanceof ProtocolError ? new ProtocolError(`message ${i}: ${err.message}`) : err;
    }
    if (!writer.append(msg, bound)) {
      out.push(copyDatagram(writer.seal(out.length)));
      writer.reset();
      writer.append(msg, bound); // always fits an empty datagram: MIN_MAX_DATAGRAM_BYTES holds the largest message
    }
  }
  if (writer.messageCount > 0 || out.length === 0) out.push(copyDatagram(writer.seal(out.length)));
  return out;
}

/** A copy in a buffer of its own (byte offset 0), so a decoder can view report values in place. */
export function copyDatagram(datagram: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafeSlow(datagram.length);
  copy.set(datagram);
  return copy;
}

// ---------------------------------------------------------------------------------------------
// Reading. Everything is checked against the frame's bounds; problems become ProtocolErrors.

function need(what: string, s: number, e: number, n: number): void {
  if (e - s < n) throw new ProtocolError(`${what} body truncated: needs at least ${n} bytes, has ${e - s}`);
}

function readU64(b: Buffer, o: number, what: string): number {
  const lo = b.readUInt32LE(o);
  const hi = b.readUInt32LE(o + 4);
  if (hi > U64_HI_MAX) throw new ProtocolError(`${what} exceeds 2^53−1`);
  return hi * TWO_32 + lo;
}

/** Reads a u8-length string at o; returns [string, end]. */
function readStr8(b: Buffer, o: number, e: number, what: string, allowEmpty = true): [string, number] {
  if (o >= e) throw new ProtocolError(`${what}: length byte missing`);
  const n = b[o]!;
  if (o + 1 + n > e) throw new ProtocolError(`${what}: ${n} bytes announced, ${e - o - 1} present`);
  if (n === 0 && !allowEmpty) throw new ProtocolError(`${what} is empty`);
  return [b.toString('utf8', o + 1, o + 1 + n), o + 1 + n];
}

function readFields(b: Buffer, o: number, e: number, what: string): FieldValue[] {
  if (o + 2 > e) throw new ProtocolError(`${what}: field count missing`);
  const count = b.readUInt16LE(o);
  if (count > MAX_FIELDS) throw new ProtocolError(`${what} sets ${count} fields, the limit is ${MAX_FIELDS}`);
  o += 2;
  const fields: FieldValue[] = new Array<FieldValue>(count);
  for (let i = 0; i < count; i++) {
    const [name, p] = readStr8(b, o, e, `${what} field ${i} name`, false);
    if (p + 8 > e) throw new ProtocolError(`${what} field ${i} (${name}): value truncated`);
    fields[i] = { name, value: b.readDoubleLE(p) };
    o = p + 8;
  }
  return fields;
}

function readValues(b: Buffer, o: number, e: number, count: number, what: string): Float64Array {
  if (count > MAX_REPORT_VALUES) throw new ProtocolError(`${what} has ${count} values, the limit is ${MAX_REPORT_VALUES}`);
  if (o + 8 * count > e) throw new ProtocolError(`${what}: ${count} values announced, room for ${Math.floor((e - o) / 8)}`);
  const at = b.byteOffset + o;
  // A view when aligned (always, for datagrams received whole): no copy per report.
  if (LITTLE_ENDIAN_HOST && (at & 7) === 0) return new Float64Array(b.buffer, at, count);
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) values[i] = b.readDoubleLE(o + 8 * i);
  return values;
}

function readHash(b: Buffer, o: number): Buffer {
  return Buffer.from(b.subarray(o, o + HASH_BYTES)); // a copy: flow info outlives the datagram
}

/** Decodes one message body in [s, e). Extra bytes at the end of a known body are ignored (room to grow). */
function readBody(type: number, b: Buffer, s: number, e: number): Message | null {
  switch (type) {
    case MsgType.Hello: {
      need('Hello', s, e, 9);
      const [datapathName] = readStr8(b, s + 8, e, 'Hello.datapathName');
      return { type: MsgType.Hello, version: b.readUInt16LE(s), pid: b.readUInt32LE(s + 4), datapathName };
    }
    case MsgType.Ready: {
      need('Ready', s, e, 9);
      const [agentName] = readStr8(b, s + 8, e, 'Ready.agentName');
      return { type: MsgType.Ready, version: b.readUInt16LE(s), heartbeatMs: b.readUInt32LE(s + 4), agentName };
    }
    case MsgType.Heartbeat:
      need('Heartbeat', s, e, 8);
      return { type: MsgType.Heartbeat, timeUs: readU64(b, s, 'Heartbeat.timeUs') };
    case MsgType.FlowCreated: {
      need('FlowCreated', s, e, 65);
      const [peerHost] = readStr8(b, s + 64, e, 'FlowCreated.peerHost');
      return {
        type: MsgType.FlowCreated,
        flowId: b.readUInt32LE(s),
        peerPort: b.readUInt16LE(s + 4),
        infoHash: readHash(b, s + 8),
        peerId: readHash(b, s + 28),
        pieceLength: b.readUInt32LE(s + 48),
        pieceCount: b.readUInt32LE(s + 52),
        totalBytes: readU64(b, s + 56, 'FlowCreated.totalBytes'),
        peerHost,
      };
    }
    case MsgType.FlowClosed: {
      need('FlowClosed', s, e, 5);
      const [reason] = readStr8(b, s + 4, e, 'FlowClosed.reason');
      return { type: MsgType.FlowClosed, flowId: b.readUInt32LE(s), reason };
    }
    case MsgType.InstallProgram: {
      need('InstallProgram', s, e, 6);
      const n = b.readUInt16LE(s + 4);
      if (n > MAX_SOURCE_BYTES) throw new ProtocolError(`InstallProgram source is ${n} bytes, the limit is ${MAX_SOURCE_BYTES}`);
      if (s + 6 + n > e) throw new ProtocolError(`InstallProgram source: ${n} bytes announced, ${e - s - 6} present`);
      return { type: MsgType.InstallProgram, programId: b.readUInt32LE(s), source: b.toString('utf8', s + 6, s + 6 + n) };
    }
    case MsgType.ProgramInstalled: {
      need('ProgramInstalled', s, e, 6);
      const count = b.readUInt16LE(s + 4);
      if (count > MAX_REPORT_VARS) {
        throw new ProtocolError(`ProgramInstalled has ${count} report variables, the limit is ${MAX_REPORT_VARS}`);
      }
      const reportVars: string[] = new Array<string>(count);
      let p = s + 6;
      for (let i = 0; i < count; i++) [reportVars[i], p] = readStr8(b, p, e, `ProgramInstalled.reportVars[${i}]`, false);
      return { type: MsgType.ProgramInstalled, programId: b.readUInt32LE(s), reportVars };
    }
    case MsgType.SwitchProgram:
      need('SwitchProgram', s, e, 14);
      return {
        type: MsgType.SwitchProgram,
        flowId: b.readUInt32LE(s),
        programId: b.readUInt32LE(s + 4),
        epoch: b.readUInt32LE(s + 8),
        fields: readFields(b, s + 12, e, 'SwitchProgram'),
      };
    case MsgType.UpdateFields:
      need('UpdateFields', s, e, 6);
      return { type: MsgType.UpdateFields, flowId: b.readUInt32LE(s), fields: readFields(b, s + 4, e, 'UpdateFields') };
    case MsgType.Report:
      need('Report', s, e, 24);
      return {
        type: MsgType.Report,
        flowId: b.readUInt32LE(s),
        programId: b.readUInt32LE(s + 4),
        epoch: b.readUInt32LE(s + 8),
        timeUs: readU64(b, s + 16, 'Report.timeUs'),
        values: readValues(b, s + 24, e, b.readUInt16LE(s + 12), 'Report'),
      };
    case MsgType.TorrentReport:
      need('TorrentReport', s, e, 32);
      return {
        type: MsgType.TorrentReport,
        infoHash: readHash(b, s),
        timeUs: readU64(b, s + 24, 'TorrentReport.timeUs'),
        values: readValues(b, s + 32, e, b.readUInt16LE(s + 20), 'TorrentReport'),
      };
    case MsgType.Error: {
      need('Error', s, e, 12);
      const n = b.readUInt16LE(s + 2);
      if (n > MAX_ERROR_TEXT_BYTES) throw new ProtocolError(`Error text is ${n} bytes, the limit is ${MAX_ERROR_TEXT_BYTES}`);
      if (s + 12 + n > e) throw new ProtocolError(`Error text: ${n} bytes announced, ${e - s - 12} present`);
      return {
        type: MsgType.Error,
        code: b.readUInt16LE(s) as ErrorCode,
        flowId: b.readUInt32LE(s + 4),
        programId: b.readUInt32LE(s + 8),
        message: b.toString('utf8', s + 12, s + 12 + n),
      };
    }
    case MsgType.Goodbye: {
      need('Goodbye', s, e, 1);
      const [reason] = readStr8(b, s, e, 'Goodbye.reason');
      return { type: MsgType.Goodbye, reason };
    }
    default:
      return null;
  }
}

export interface DecodedDatagram {
  /** Protocol version in the header (differs from ours only when every message is an Error). */
  readonly version: number;
  /** The sender's datagram number (counts datagrams it handed to the socket, wrapping at 2^32). */
  readonly sequence: number;
  readonly messages: Message[];
  /** Messages that were skipped (unknown type, bad body) and framing problems after the header. */
  readonly errors: ProtocolError[];
}

/**
 * Decodes a datagram. Throws ProtocolError when the datagram as a whole is unusable (too short, bad
 * magic, another protocol version); problems with single messages land in `errors` and the rest is
 * still returned. Never throws anything else, whatever the bytes.
 *
 * Report/TorrentReport `values` may be views into `input`: do not overwrite it while keeping them.
 */
export function decodeDatagram(input: Uint8Array): DecodedDatagram {
  if (!(input instanceof Uint8Array)) throw new ProtocolError('a datagram must be a Buffer or Uint8Array');
  const b = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const len = b.length;
  if (len < HEADER_BYTES) {
    throw new ProtocolError(`datagram truncated: ${len} bytes, the header alone takes ${HEADER_BYTES}`);
  }
  if (b[0] !== MAGIC[0] || b[1] !== MAGIC[1] || b[2] !== MAGIC[2] || b[3] !== MAGIC[3]) {
    throw new ProtocolError(`bad magic: expected 43 43 42 54 ("CCBT"), got ${b.subarray(0, 4).toString('hex').replace(/(..)(?!$)/g, '$1 ')}`);
  }
  if (len > MAX_DATAGRAM_BYTES) throw new ProtocolError(`datagram of ${len} bytes exceeds ${MAX_DATAGRAM_BYTES}`);
  const version = b[4]!;
  const count = b.readUInt16LE(6);
  const sequence = b.readUInt32LE(8);
  // Another version: only Error messages (whose layout never changes) can be read, so that a
  // version-mismatch answer is understood by every version.
  const foreign = version !== PROTOCOL_VERSION;
  const messages: Message[] = [];
  const errors: ProtocolError[] = [];
  let skippedForeign = 0;
  let o = HEADER_BYTES;
  let i = 0;
  for (; i < count; i++) {
    if (o + FRAME_HEADER_BYTES > len) {
      errors.push(new ProtocolError(`datagram truncated: the header announces ${count} messages, ${i} found`));
      break;
    }
    const type = b[o]!;
    const bodyLen = b.readUInt16LE(o + 2);
    const s = o + FRAME_HEADER_BYTES;
    const e = s + bodyLen;
    if (e > len) {
      errors.push(
        new ProtocolError(`length overrun: message ${i} (${typeName(type)}) claims ${bodyLen} bytes, ${len - s} remain`),
      );
      break;
    }
    // The final frame's padding may be missing; everything else must be padded.
    o = Math.min(o + align8(FRAME_HEADER_BYTES + bodyLen), len);
    if (foreign && type !== MsgType.Error) {
      skippedForeign++;
      continue;
    }
    try {
      const msg = readBody(type, b, s, e);
      if (msg === null) errors.push(new ProtocolError(`unknown message type ${type} skipped (${bodyLen} bytes)`));
      else messages.push(msg);
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      errors.push(new ProtocolError(`message ${i} (${typeName(type)}): ${text}`));
    }
  }
  if (i === count && o < len) errors.push(new ProtocolError(`${len - o} trailing bytes after the last of ${count} messages`));
  if (foreign && (skippedForeign > 0 || messages.length === 0)) {
    throw new ProtocolError(
      `version mismatch: the peer speaks protocol version ${version}, this side speaks version ${PROTOCOL_VERSION}`,
      ErrorCode.VersionMismatch,
      version,
    );
  }
  return { version, sequence, messages, errors };
}
