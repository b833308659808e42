// Reading .torrent files (BEP 3, BEP 12 announce-list): validated, with the info-hash taken from the
// exact bytes of the info dictionary as found in the file (never re-encoded).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { BencodeError, decodeScanned, isDict, scanBencode, type BencodeValue } from '../bencode.js';
import { printable, unsafeComponentReason } from './safe-path.js';

export class MetainfoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetainfoError';
  }
}

export interface TorrentFile {
  path: string[]; // safe relative components
  length: number;
  offset: number; // in the torrent's byte space
}

export interface Metainfo {
  infoHash: Buffer;
  infoHashHex: string;
  name: string;
  pieceLength: number;
  pieceCount: number;
  lastPieceLength: number;
  totalBytes: number;
  pieceHashes: Buffer; // 20 * pieceCount bytes
  files: TorrentFile[]; // single-file torrents: one entry with path [name]
  multiFile: boolean; // true: files live under <dir>/<name>/...
  announce: string[][]; // tiers (BEP 12 announce-list, else [[announce]]), may be empty
  private: boolean;
  comment?: string;
  createdBy?: string;
  creationDate?: number; // seconds since the epoch
}

/** Smallest and largest piece length we accept (16 KiB blocks; BEP 3 says powers of two, not all obey). */
export const MIN_PIECE_LENGTH = 1024;
export const MAX_PIECE_LENGTH = 64 * 1024 * 1024;
/** Above this a torrent is more likely hostile than real (and its have bitfield alone would be large). */
export const MAX_PIECE_COUNT = 4_000_000;
export const MAX_FILE_COUNT = 1_000_000;
/** 2^53 - 1 bytes keeps every offset exact in a JS number. */
const MAX_TOTAL_BYTES = Number.MAX_SAFE_INTEGER;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses and validates metainfo bytes. Throws MetainfoError naming the problem. */
export function parseMetainfo(buf: Uint8Array): Metainfo {
  let spans;
  try {
    spans = scanBencode(buf);
  } catch (err) {
    if (err instanceof BencodeError) throw new MetainfoError(`not valid bencode: ${err.message}`);
    throw err;
  }
  const infoSpan = spans.get('info');
  if (!infoSpan) throw new MetainfoError("no 'info' dictionary (is this a .torrent file?)");
  let root: BencodeValue;
  try {
    root = decodeScanned(buf);
  } catch (err) {
    throw new MetainfoError(`not valid bencode: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isDict(root)) throw new MetainfoError('top level is not a dictionary');
  const info = root['info'];
  if (!isDict(info)) throw new MetainfoError("'info' is not a dictionary");

  const infoBytes = buf.subarray(infoSpan.start, infoSpan.end);
  const infoHash = createHash('sha1').update(infoBytes).digest();

  const metaVersion = info['meta version'];
  const pieces = info['pieces'];
  if (metaVersion !== undefined && metaVersion !== 1 && !(pieces instanceof Uint8Array)) {
    throw new MetainfoError('BitTorrent v2-only torrents (BEP 52) are not supported');
  }

  const name = textField(info, 'name', 'info.name', true)!;
  const nameProblem = unsafeComponentReason(name);
  if (nameProblem) throw new MetainfoError(`unsafe torrent name '${printable(name)}': ${nameProblem}`);

  const pieceLength = info['piece length'];
  if (typeof pieceLength !== 'number' || !Number.isSafeInteger(pieceLength)) {
    throw new MetainfoError("'piece length' missing or not an integer");
  }
  if (pieceLength < MIN_PIECE_LENGTH || pieceLength > MAX_PIECE_LENGTH) {
    throw new MetainfoError(`piece length ${pieceLength} outside ${MIN_PIECE_LENGTH}..${MAX_PIECE_LENGTH}`);
  }
  if (!(pieces instanceof Uint8Array)) throw new MetainfoError("'pieces' missing or not a byte string");
  if (pieces.length % 20 !== 0) throw new MetainfoError(`'pieces' is ${pieces.length} bytes, not a multiple of 20`);

  const { files, multiFile, totalBytes } = readFiles(info, name);

  const pieceCount = pieces.length / 20;
  const expectedPieces = Math.ceil(totalBytes / pieceLength);
  if (pieceCount !== expectedPieces) {
    throw new MetainfoError(
      `${pieceCount} piece hashes for ${totalBytes} bytes at piece length ${pieceLength} (expected ${expectedPieces})`,
    );
  }
  if (pieceCount === 0) throw new MetainfoError('torrent has no data (total length 0)');
  if (pieceCount > MAX_PIECE_COUNT) throw new MetainfoError(`too many pieces (${pieceCount} > ${MAX_PIECE_COUNT})`);
  const lastPieceLength = totalBytes - (pieceCount - 1) * pieceLength;

  const priv = info['private'];
  const meta: Metainfo = {
    infoHash,
    infoHashHex: infoHash.toString('hex'),
    name,
    pieceLength,
    pieceCount,
    lastPieceLength,
    totalBytes,
    pieceHashes: Buffer.from(pieces),
    files,
    multiFile,
    announce: readAnnounce(root),
    private: priv === 1,
  };
  const comment = lenientText(root['comment.utf-8'] ?? root['comment']);
  if (comment !== undefined) meta.comment = comment;
  const createdBy = lenientText(root['created by']);
  if (createdBy !== undefined) meta.createdBy = createdBy;
  const date = root['creation date'];
  if (typeof date === 'number' && Number.isSafeInteger(date)) meta.creationDate = date;
  return meta;
}

/** Reads and parses a .torrent file; file errors become MetainfoError too. */
export async function readMetainfo(path: string): Promise<Metainfo> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new MetainfoError(`cannot read ${path}: ${code ?? (err instanceof Error ? err.message : String(err))}`);
  }
  try {
    return parseMetainfo(buf);
  } catch (err) {
    if (err instanceof MetainfoError) throw new MetainfoError(`${path}: ${err.message}`);
    throw err;
  }
}

/** Length in bytes of piece `index` (the last one may be short). */
export function pieceLengthOf(meta: Metainfo, index: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= meta.pieceCount) {
    throw new RangeError(`piece ${index} out of range 0..${meta.pieceCount - 1}`);
  }
  return index === meta.pieceCount - 1 ? meta.lastPieceLength : meta.pieceLength;
}

/** The 20-byte SHA-1 expected for piece `index`. */
export function pieceHashOf(meta: Metainfo, index: number): Buffer {
  return meta.pieceHashes.subarray(index * 20, index * 20 + 20);
}

function readFiles(
  info: { [key: string]: BencodeValue },
  name: string,
): { files: TorrentFile[]; multiFile: boolean; totalBytes: number } {
  const length = info['length'];
  const list = info['files'];
  if (length !== undefined && list !== undefined) throw new MetainfoError("info has both 'length' and 'files'");
  if (length !== undefined) {
    const len = checkedLength(length, 'length');
    return { files: [{ path: [name], length: len, offset: 0 }], multiFile: false, totalBytes: len };
  }
  if (!Array.isArray(list)) throw new MetainfoError("info has neither 'length' nor a 'files' list");
  if (list.length === 0) throw new MetainfoError("'files' list is empty");
  if (list.length > MAX_FILE_COUNT) throw new MetainfoError(`too many files (${list.length})`);
  const files: TorrentFile[] = [];
  const seen = new Set<string>();
  const dirs = new Set<string>();
  let offset = 0;
  for (let i = 0; i < list.length; i++) {
    const entry = list[i];
    if (!isDict(entry)) throw new MetainfoError(`files[${i}] is not a dictionary`);
    const len = checkedLength(entry['length'], `files[${i}].length`);
    const path = readPath(entry, i);
    // Two entries at one path, or a file where another entry needs a folder, would overwrite each other.
    const key = path.join('/');
    if (seen.has(key) || dirs.has(key)) throw new MetainfoError(`files[${i}] path '${printable(key)}' is used twice`);
    for (let d = 1; d < path.length; d++) {
      const dir = path.slice(0, d).join('/');
      if (seen.has(dir)) throw new MetainfoError(`files[${i}] path '${printable(key)}' goes through the file '${printable(dir)}'`);
      dirs.add(dir);
    }
    seen.add(key);
    files.push({ path, length: len, offset });
    offset += len;
    if (offset > MAX_TOTAL_BYTES) throw new MetainfoError('total length too large');
  }
  return { files, multiFile: true, totalBytes: offset };
}

function readPath(entry: { [key: string]: BencodeValue }, i: number): string[] {
  const utf8Path = entry['path.utf-8'];
  const raw = decodePathList(utf8Path, true) ?? decodePathList(entry['path'], false);
  if (!raw) throw new MetainfoError(`files[${i}].path missing or not a list of byte strings`);
  if (raw.length === 0) throw new MetainfoError(`files[${i}].path is empty`);
  for (const component of raw) {
    const problem = unsafeComponentReason(component);
    if (problem) throw new MetainfoError(`unsafe path in files[${i}] '${printable(raw.join('/'))}': ${problem}`);
  }
  return raw;
}

/** A list of byte strings as text; `strict` (the .utf-8 variants) gives undefined unless all are UTF-8. */
function decodePathList(value: BencodeValue | undefined, strict: boolean): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: string[] = [];
  for (const part of value) {
    if (!(part instanceof Uint8Array)) return undefined;
    const text = strict ? tryUtf8(part) : bytesToName(part);
    if (text === undefined) return undefined;
    out.push(text);
  }
  return out;
}

function tryUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * A name as text: UTF-8 when it is valid UTF-8, else Latin-1, which maps every byte to one character, so
 * distinct byte names stay distinct (a lossy U+FFFD decoding could merge two files into one path).
 */
export function bytesToName(bytes: Uint8Array): string {
  return tryUtf8(bytes) ?? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function textField(dict: { [key: string]: BencodeValue }, key: string, what: string, required: boolean): string | undefined {
  const preferred = dict[`${key}.utf-8`];
  if (preferred instanceof Uint8Array) {
    const text = tryUtf8(preferred);
    if (text !== undefined) return text;
  }
  const value = dict[key];
  if (value === undefined) {
    if (required) throw new MetainfoError(`'${what}' missing`);
    return undefined;
  }
  if (!(value instanceof Uint8Array)) throw new MetainfoError(`'${what}' is not a byte string`);
  return bytesToName(value);
}

function lenientText(value: BencodeValue | undefined): string | undefined {
  return value instanceof Uint8Array ? bytesToName(value) : undefined;
}

function checkedLength(value: BencodeValue | undefined, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new MetainfoError(`'${what}' missing or not an integer`);
  if (value < 0) throw new MetainfoError(`'${what}' is negative (${value})`);
  return value;
}

/** BEP 12 tiers when announce-list is usable, else the single announce URL; junk entries are skipped. */
function readAnnounce(root: { [key: string]: BencodeValue }): string[][] {
  const list = root['announce-list'];
  const tiers: string[][] = [];
  if (Array.isArray(list)) {
    for (const tier of list) {
      if (!Array.isArray(tier)) continue;
      const urls = tier.filter((u): u is Uint8Array => u instanceof Uint8Array).map((u) => Buffer.from(u).toString('utf8').trim()).filter((u) => u.length > 0);
      if (urls.length > 0) tiers.push(urls);
    }
  }
  if (tiers.length > 0) return tiers;
  const single = root['announce'];
  if (single instanceof Uint8Array) {
    const url = Buffer.from(single).toString('utf8').trim();
    if (url.length > 0) return [[url]];
  }
  return [];
}
