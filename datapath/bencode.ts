// Bencode for all untrusted input we read (metainfo, tracker answers, BEP 10 handshakes) and what we write:
// a strict structural scan of our own (it finds the byte span of a top-level key's value, which the
// info-hash needs, and rejects input the `bencode` package would mis-read or loop on), then the `bencode`
// package for the actual decoding and encoding.
// @ts-ignore -- the bencode package ships no type declarations; it is typed by the wrapper below.
import bencodeUntyped from 'bencode';

/** What decoding gives back: byte strings stay Uint8Array (names may not be UTF-8). */
export type BencodeValue = number | Uint8Array | BencodeValue[] | { [key: string]: BencodeValue };
/**
 * What encoding accepts: strings are written as UTF-8; dictionary keys are sorted; keys whose value is
 * undefined are left out. A dictionary keyed by raw bytes (not text) is a Map built by byteKeyedDict.
 */
export type BencodeInput =
  | number
  | boolean
  | string
  | Uint8Array
  | readonly BencodeInput[]
  | { readonly [key: string]: BencodeInput | undefined }
  | ReadonlyMap<ByteKey, BencodeInput>;

interface BencodePackage {
  decode(data: Uint8Array): unknown;
  encode(data: unknown): Uint8Array;
}
const bencode = bencodeUntyped as BencodePackage;

export class BencodeError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} at byte ${offset}`);
    this.name = 'BencodeError';
  }
}

/** Nesting deeper than this is refused (the package decodes recursively; real metainfo nests ~4 deep). */
export const MAX_DEPTH = 64;
/** Longer integers than this cannot be meaningful here (2^63 has 19 digits). */
const MAX_INT_DIGITS = 20;

export interface Span {
  start: number;
  end: number; // exclusive
}

const D = 0x64, L = 0x6c, I = 0x69, E = 0x65, COLON = 0x3a, MINUS = 0x2d, ZERO = 0x30, NINE = 0x39;

/**
 * Checks that `buf` is exactly one well-formed bencoded value (canonical integers, string lengths inside
 * the buffer, byte-string dictionary keys, bounded depth, nothing after it) and returns the spans of the
 * values of the top-level dictionary's keys (empty when the top level is not a dictionary).
 * Iterative, so hostile nesting cannot overflow the stack. Throws BencodeError.
 */
export function scanBencode(buf: Uint8Array): Map<string, Span> {
  const topLevel = new Map<string, Span>();
  if (buf.length === 0) throw new BencodeError('empty input', 0);
  // Stack of open containers: 'd' expects a key next when `expectKey` is set.
  const kinds: number[] = [];
  const expectKey: boolean[] = [];
  let pendingTopKey: string | null = null;
  let pendingTopStart = -1;
  let pos = 0;
  let done = false;

  const readString = (): Span => {
    const start = pos;
    let len = 0;
    let digits = 0;
    while (pos < buf.length && buf[pos]! >= ZERO && buf[pos]! <= NINE) {
      len = len * 10 + (buf[pos]! - ZERO);
      digits++;
      pos++;
      if (digits > 15) throw new BencodeError('string length too long', start);
    }
    if (digits === 0) throw new BencodeError(`unexpected byte 0x${(buf[pos] ?? 0).toString(16)}`, start);
    if (pos >= buf.length) throw new BencodeError('truncated string length', start);
    if (buf[pos] !== COLON) throw new BencodeError("expected ':' after string length", pos);
    if (digits > 1 && buf[start] === ZERO) throw new BencodeError('string length with leading zero', start);
    pos++;
    if (len > buf.length - pos) throw new BencodeError(`string of ${len} bytes runs past the end`, start);
    const span = { start: pos, end: pos + len };
    pos += len;
    return span;
  };

  // Called after a complete value ending at `pos`.
  const valueDone = (): void => {
    const depth = kinds.length;
    if (depth === 0) {
      done = true;
      return;
    }
    if (kinds[depth - 1] === D) {
      expectKey[depth - 1] = true;
      if (depth === 1 && pendingTopKey !== null) {
        topLevel.set(pendingTopKey, { start: pendingTopStart, end: pos });
        pendingTopKey = null;
      }
    }
  };

  while (!done) {
    if (pos >= buf.length) throw new BencodeError('truncated input', pos);
    const depth = kinds.length;
    const c = buf[pos]!;
    if (depth > 0 && expectKey[depth - 1]) {
      if (c === E) {
        kinds.pop();
        expectKey.pop();
        pos++;
        valueDone();
        continue;
      }
      if (c < ZERO || c > NINE) throw new BencodeError('dictionary key must be a byte string', pos);
      const key = readString();
      expectKey[depth - 1] = false;
      if (depth === 1) {
        pendingTopKey = Buffer.from(buf.buffer, buf.byteOffset + key.start, key.end - key.start).toString('latin1');
        pendingTopStart = pos;
      }
      continue;
    }
    const start = pos;
    if (c === D || c === L) {
      if (depth >= MAX_DEPTH) throw new BencodeError(`nesting deeper than ${MAX_DEPTH}`, pos);
      kinds.push(c);
      expectKey.push(c === D);
      pos++;
      continue;
    }
    if (c === E) {
      if (depth === 0 || kinds[depth - 1] !== L) throw new BencodeError("unexpected 'e'", pos);
      kinds.pop();
      expectKey.pop();
      pos++;
      valueDone();
      continue;
    }
    if (c === I) {
      pos++;
      const numStart = pos;
      if (buf[pos] === MINUS) pos++;
      const digitStart = pos;
      while (pos < buf.length && buf[pos]! >= ZERO && buf[pos]! <= NINE) pos++;
      const digits = pos - digitStart;
      if (pos >= buf.length) throw new BencodeError('truncated integer', start);
      if (buf[pos] !== E) throw new BencodeError('invalid byte in integer', pos);
      if (digits === 0) throw new BencodeError('integer without digits', start);
      if (digits > MAX_INT_DIGITS) throw new BencodeError('integer too long', start);
      if (digits > 1 && buf[digitStart] === ZERO) throw new BencodeError('integer with leading zero', start);
      if (digitStart > numStart && buf[digitStart] === ZERO) throw new BencodeError('negative zero', start);
      pos++;
      valueDone();
      continue;
    }
    if (c >= ZERO && c <= NINE) {
      readString();
      valueDone();
      continue;
    }
    throw new BencodeError(`unexpected byte 0x${c.toString(16)}`, pos);
  }
  if (pos !== buf.length) throw new BencodeError(`${buf.length - pos} trailing bytes after the value`, pos);
  return topLevel;
}

/** Decodes one bencoded value; throws BencodeError for anything malformed (never loops or overflows). */
export function decodeBencode(buf: Uint8Array): BencodeValue {
  scanBencode(buf);
  return decodeScanned(buf);
}

/** Decodes bytes that scanBencode has already accepted. */
export function decodeScanned(buf: Uint8Array): BencodeValue {
  let value: BencodeValue;
  try {
    value = bencode.decode(buf) as BencodeValue;
  } catch (err) {
    throw new BencodeError(`bencode: ${err instanceof Error ? err.message : String(err)}`, 0);
  }
  rejectSwappedPrototypes(value, 0);
  return value;
}

/**
 * The package builds dictionaries as `{}` and assigns `dict[key]`, so a key `__proto__` with a list or
 * dictionary value replaces that dictionary's prototype: its entries then look like the dictionary's
 * own keys, and a byte-string value makes it pass `instanceof Uint8Array`. Such input is refused. (With
 * an integer value the assignment is a no-op: the key is simply absent, which is harmless.) Nothing
 * global is touched either way: Object.prototype itself is never assigned to.
 */
function rejectSwappedPrototypes(value: BencodeValue, depth: number): void {
  if (typeof value !== 'object' || depth > MAX_DEPTH) return;
  if (Array.isArray(value)) {
    for (const item of value) rejectSwappedPrototypes(item, depth + 1);
    return;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Uint8Array.prototype) return;
  if (proto !== Object.prototype) throw new BencodeError("dictionary key '__proto__' is not accepted", 0);
  for (const item of Object.values(value)) rejectSwappedPrototypes(item, depth + 1);
}

export function encodeBencode(value: BencodeInput): Buffer {
  const out = bencode.encode(value);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * A dictionary key given as raw bytes. The package writes a typed-array Map key as it is, but sorts Map
 * keys by their string form; a ByteKey's string form is latin1 (one character per byte), so that sort is
 * byte order, as bencode requires.
 */
export class ByteKey extends Uint8Array {
  declare private readonly byteKeyBrand: void;
  override toString(): string {
    return Buffer.from(this.buffer, this.byteOffset, this.byteLength).toString('latin1');
  }
}

/**
 * A dictionary keyed by raw bytes, e.g. a scrape answer's `files`, keyed by 20-byte info-hashes. Equal
 * keys are one key (the last value wins), as in an object.
 */
export function byteKeyedDict(entries: Iterable<readonly [Uint8Array, BencodeInput]>): ReadonlyMap<ByteKey, BencodeInput> {
  const byText = new Map<string, [ByteKey, BencodeInput]>();
  for (const [bytes, value] of entries) {
    const key = new ByteKey(bytes);
    byText.set(key.toString(), [key, value]);
  }
  return new Map([...byText.values()]);
}

export function isDict(v: BencodeValue | undefined): v is { [key: string]: BencodeValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}
