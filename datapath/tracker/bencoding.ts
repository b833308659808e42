// Strict bencode for tracker traffic, which is untrusted network input.
// Not the `bencode` package: its decoder (4.0.1) loops forever on `l-3:e` (a negative string length
// moves the cursor backwards) and silently accepts strings that run past the end.

export type BValue = number | Buffer | BValue[] | BDict;
export interface BDict { [key: string]: BValue }

export class BencodeError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} at byte ${offset}`);
    this.name = 'BencodeError';
  }
}

const MAX_DEPTH = 64;

/** Decodes exactly one bencoded value that spans the whole buffer. Dictionary keys are latin1 strings. */
export function bdecode(data: Buffer): BValue {
  const state = { pos: 0 };
  const value = decodeValue(data, state, 0);
  if (state.pos !== data.length) throw new BencodeError('trailing data after the value', state.pos);
  return value;
}

function decodeValue(data: Buffer, s: { pos: number }, depth: number): BValue {
  if (depth > MAX_DEPTH) throw new BencodeError('nesting too deep', s.pos);
  if (s.pos >= data.length) throw new BencodeError('unexpected end of data', s.pos);
  const c = data[s.pos]!;
  if (c === 0x69 /* i */) return decodeInt(data, s);
  if (c === 0x6c /* l */) {
    s.pos++;
    const list: BValue[] = [];
    while (true) {
      if (s.pos >= data.length) throw new BencodeError('unterminated list', s.pos);
      if (data[s.pos] === 0x65) { s.pos++; return list; }
      list.push(decodeValue(data, s, depth + 1));
    }
  }
  if (c === 0x64 /* d */) {
    s.pos++;
    // A null-prototype object: a key like "__proto__" stays an ordinary key.
    const dict = Object.create(null) as BDict;
    while (true) {
      if (s.pos >= data.length) throw new BencodeError('unterminated dictionary', s.pos);
      if (data[s.pos] === 0x65) { s.pos++; return dict; }
      const key = decodeString(data, s).toString('latin1');
      dict[key] = decodeValue(data, s, depth + 1);
    }
  }
  if (c >= 0x30 && c <= 0x39) return decodeString(data, s);
  throw new BencodeError(`unexpected byte 0x${c.toString(16)}`, s.pos);
}

function decodeInt(data: Buffer, s: { pos: number }): number {
  const start = s.pos + 1;
  const end = data.indexOf(0x65, start);
  if (end < 0) throw new BencodeError('unterminated integer', s.pos);
  const text = data.toString('latin1', start, end);
  if (!/^(0|-?[1-9][0-9]{0,17})$/.test(text)) throw new BencodeError(`invalid integer '${text.slice(0, 20)}'`, start);
  s.pos = end + 1;
  return Number(text);
}

function decodeString(data: Buffer, s: { pos: number }): Buffer {
  const colon = data.indexOf(0x3a, s.pos);
  if (colon < 0 || colon - s.pos > 10) throw new BencodeError('invalid string length', s.pos);
  const text = data.toString('latin1', s.pos, colon);
  if (!/^(0|[1-9][0-9]*)$/.test(text)) throw new BencodeError(`invalid string length '${text}'`, s.pos);
  const len = Number(text);
  const start = colon + 1;
  if (start + len > data.length) throw new BencodeError(`string of ${len} bytes runs past the end`, s.pos);
  s.pos = start + len;
  return data.subarray(start, start + len);
}

/** Encodes numbers (integers), strings, Buffers, lists and dictionaries (keys sorted, as bencode requires). */
export type BEncodable = number | string | Buffer | BEncodable[] | { [key: string]: BEncodable | undefined };

export function bencode(value: BEncodable): Buffer {
  const parts: Buffer[] = [];
  encodeInto(value, parts);
  return Buffer.concat(parts);
}

function encodeInto(value: BEncodable, parts: Buffer[]): void {
  if (typeof value === 'number') {
    parts.push(Buffer.from(`i${Math.trunc(value)}e`, 'latin1'));
  } else if (typeof value === 'string') {
    const b = Buffer.from(value, 'utf8');
    parts.push(Buffer.from(`${b.length}:`, 'latin1'), b);
  } else if (Buffer.isBuffer(value)) {
    parts.push(Buffer.from(`${value.length}:`, 'latin1'), value);
  } else if (Array.isArray(value)) {
    parts.push(Buffer.from('l'));
    for (const v of value) encodeInto(v, parts);
    parts.push(Buffer.from('e'));
  } else {
    parts.push(Buffer.from('d'));
    const keys = Object.keys(value).filter((k) => value[k] !== undefined);
    // Keys compare as raw bytes; hex/latin1 keys from bdecode round-trip as latin1.
    keys.sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')));
    for (const k of keys) {
      encodeInto(Buffer.from(k, 'latin1'), parts);
      encodeInto(value[k]!, parts);
    }
    parts.push(Buffer.from('e'));
  }
}
