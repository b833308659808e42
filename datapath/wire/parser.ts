// A streaming parser for the peer wire: push socket chunks in, take messages out. Optionally reads
// the 68-byte handshake first. Every message is checked for length and bounds; a violation throws a
// WireError naming the problem (and the parser stays failed: the connection must be dropped).
//
// Copy-light: a message wholly inside one chunk is a view into that chunk (piece blocks included);
// only a message split across chunks is joined, once, when its last byte arrives.
import { HANDSHAKE_LENGTH, parseHandshake, type Handshake } from './handshake.js';
import { KEEP_ALIVE, MsgId, UNKNOWN, WireError, type WireMessage } from './messages.js';

export interface WireParserOptions {
  /** Read a handshake before any message (the default). */
  handshake?: boolean;
  /** Largest accepted message, length prefix excluded; bigger is a violation. Default 1 MiB + 16. */
  maxMessageBytes?: number;
  /**
   * A piece message split across chunks is joined in one buffer the parser reuses, so its `block` is
   * valid only until the next call to next(): for consumers that copy blocks at once (the engine).
   * Saves a fresh allocation (an ArrayBuffer outside the JS heap) for about one block in four.
   */
  transientSplitPieces?: boolean;
}

export type ParsedItem = WireMessage | { readonly id: 'handshake'; readonly handshake: Handshake };

const EMPTY = Buffer.alloc(0);

/** The big-endian uint32 at buf[o..o+4), which the caller has checked is there (Buffer's reader checks again, in two more calls). */
function u32(buf: Buffer, o: number): number {
  return ((buf[o]! << 24) | (buf[o + 1]! << 16) | (buf[o + 2]! << 8) | buf[o + 3]!) >>> 0;
}

const KEEP_ALIVE_MSG: WireMessage = { id: KEEP_ALIVE };
const BARE: Record<number, WireMessage> = {
  [MsgId.Choke]: { id: MsgId.Choke },
  [MsgId.Unchoke]: { id: MsgId.Unchoke },
  [MsgId.Interested]: { id: MsgId.Interested },
  [MsgId.NotInterested]: { id: MsgId.NotInterested },
  [MsgId.HaveAll]: { id: MsgId.HaveAll },
  [MsgId.HaveNone]: { id: MsgId.HaveNone },
};

export class WireParser {
  private readonly maxMessageBytes: number;
  private needHandshake: boolean;
  // Unconsumed bytes: `head` from `off`, then the chunks in `rest` (only while a message is split).
  private head: Buffer = EMPTY;
  private off = 0;
  private rest: Buffer[] = [];
  private restBytes = 0;
  private failed: WireError | null = null;
  private readonly transientSplitPieces: boolean;
  private scratch: Buffer | null = null;
  // Owned copy of an unfinished message, made by release().
  private carry: Buffer | null = null;
  /** The piece message the last successful takePiece() consumed; valid as long as the chunk it lies in. */
  pieceIndex = 0;
  pieceBegin = 0;
  pieceBlock: Buffer = EMPTY;

  constructor(opts: WireParserOptions = {}) {
    this.needHandshake = opts.handshake ?? true;
    this.maxMessageBytes = opts.maxMessageBytes ?? 1024 * 1024 + 16;
    this.transientSplitPieces = opts.transientSplitPieces ?? false;
  }

  /** Bytes received but not yet returned as messages. */
  get buffered(): number {
    return this.head.length - this.off + this.restBytes;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.off >= this.head.length && this.restBytes === 0) {
      this.head = chunk;
      this.off = 0;
    } else {
      this.rest.push(chunk);
      this.restBytes += chunk.length;
    }
  }

  /**
   * Lets go of every chunk pushed so far, so their memory may be reused (a socket that reads into one
   * shared buffer): the unconsumed bytes, at most one unfinished message once next() returned null, are
   * copied into a buffer the parser owns. Messages already returned must have been used or copied.
   */
  release(): void {
    const n = this.buffered;
    if (n === 0) {
      this.head = EMPTY;
      this.off = 0;
      this.rest = [];
      this.restBytes = 0;
      return;
    }
    let dst = this.carry;
    if (!dst || dst.length < n) dst = Buffer.allocUnsafeSlow(Math.max(n, 2 * (dst?.length ?? 8 * 1024)));
    // Buffer.copy is a memmove: fine when the head already lies in `dst`.
    let filled = this.head.copy(dst, 0, this.off);
    for (const c of this.rest) filled += c.copy(dst, filled);
    this.carry = dst;
    this.head = dst.subarray(0, n);
    this.off = 0;
    this.rest = [];
    this.restBytes = 0;
  }

  /**
   * Consumes the next message if it is a piece message lying wholly in the current chunk: then its
   * fields are in pieceIndex, pieceBegin and pieceBlock (a view into the chunk) and it returns true.
   * Otherwise (another message, a split one, a bad length, too few bytes) it returns false and consumes
   * nothing: next() takes it from there and reports any violation. The per-block path of a download,
   * without a message object per block.
   */
  takePiece(): boolean {
    const head = this.head;
    const off = this.off;
    if (head.length - off < 13 || head[off + 4] !== MsgId.Piece || this.needHandshake || this.failed) return false;
    const len = u32(head, off);
    if (len < 9 || len > this.maxMessageBytes || head.length - off < 4 + len) return false;
    this.pieceIndex = u32(head, off + 5);
    this.pieceBegin = u32(head, off + 9);
    this.pieceBlock = head.subarray(off + 13, off + 4 + len);
    this.off = off + 4 + len;
    return true;
  }

  /** The next complete message, or null when more bytes are needed. Throws WireError on a violation. */
  next(): ParsedItem | null {
    if (this.failed) throw this.failed;
    try {
      return this.needHandshake ? this.nextHandshake() : this.nextMessage();
    } catch (err) {
      if (err instanceof WireError) this.failed = err;
      throw err;
    }
  }

  private nextHandshake(): ParsedItem | null {
    this.advance();
    const avail = this.buffered;
    if (avail === 0) return null;
    // Validate the prefix early so garbage is refused before 68 bytes arrive.
    if (avail < HANDSHAKE_LENGTH) {
      parseHandshake(this.contiguous(avail));
      return null;
    }
    const buf = this.contiguous(HANDSHAKE_LENGTH);
    const hs = parseHandshake(buf)!;
    this.off += HANDSHAKE_LENGTH;
    this.needHandshake = false;
    return { id: 'handshake', handshake: hs };
  }

  /**
   * Makes the first `n` unconsumed bytes contiguous in `head` and returns them. Only those `n` bytes
   * are copied; the rest of the last chunk they end in stays a view (no copy) for later messages.
   */
  private contiguous(n: number, reuse = false): Buffer {
    const inHead = this.head.length - this.off;
    if (inHead < n) {
      let joined: Buffer;
      if (reuse) {
        if (!this.scratch || this.scratch.length < n) this.scratch = Buffer.allocUnsafeSlow(Math.max(n, 16 * 1024 + 13));
        joined = this.scratch.subarray(0, n);
      } else {
        joined = Buffer.allocUnsafe(n);
      }
      this.head.copy(joined, 0, this.off);
      let filled = inHead;
      let used = 0;
      let tail: Buffer | null = null;
      while (filled < n) {
        const c = this.rest[used++]!;
        const take = Math.min(c.length, n - filled);
        c.copy(joined, filled, 0, take);
        filled += take;
        if (take < c.length) tail = c.subarray(take);
      }
      const remaining = this.rest.slice(used);
      if (tail) remaining.unshift(tail);
      this.rest = remaining;
      this.restBytes = 0;
      for (const c of remaining) this.restBytes += c.length;
      // The joined message becomes the head; once consumed, push() or the next call moves on to `rest`.
      this.head = joined;
      this.off = 0;
    }
    return this.head.subarray(this.off, this.off + n);
  }

  /** Moves on to the next pending chunk once the head is used up. */
  private advance(): void {
    while (this.off >= this.head.length && this.rest.length > 0) {
      this.head = this.rest.shift()!;
      this.restBytes -= this.head.length;
      this.off = 0;
    }
  }

  private nextMessage(): WireMessage | null {
    this.advance();
    const avail = this.buffered;
    if (avail < 4) return null;
    let headAvail = this.head.length - this.off;
    if (headAvail < 4) {
      this.contiguous(4);
      headAvail = this.head.length - this.off;
    }
    const len = u32(this.head, this.off);
    if (len === 0) {
      this.off += 4;
      return KEEP_ALIVE_MSG;
    }
    if (len > this.maxMessageBytes) throw new WireError(`message of ${len} bytes exceeds the limit of ${this.maxMessageBytes}`);
    if (avail < 4 + len) return null;
    if (headAvail < 4 + len) {
      // headAvail >= 4 here and pending chunks are never empty, so the id byte is at hand.
      const id = headAvail > 4 ? this.head[this.off + 4] : this.rest[0]![0];
      this.contiguous(4 + len, this.transientSplitPieces && id === MsgId.Piece);
    }
    const start = this.off + 4;
    this.off = start + len;
    return decodeBody(this.head, start, len);
  }
}

function expectLength(name: string, len: number, want: number): void {
  if (len !== want) throw new WireError(`${name} message has length ${len}, expected ${want}`);
}

/** Decodes the message body at buf[start .. start+len) (id byte first). */
function decodeBody(buf: Buffer, start: number, len: number): WireMessage {
  const id = buf[start]!;
  switch (id) {
    case MsgId.Piece: {
      if (len < 9) throw new WireError(`piece message has length ${len}, expected at least 9`);
      return { id, index: u32(buf, start + 1), begin: u32(buf, start + 5), block: buf.subarray(start + 9, start + len) };
    }
    case MsgId.Request:
    case MsgId.Cancel:
    case MsgId.Reject:
      expectLength(id === MsgId.Request ? 'request' : id === MsgId.Cancel ? 'cancel' : 'reject', len, 13);
      return { id, index: u32(buf, start + 1), begin: u32(buf, start + 5), length: u32(buf, start + 9) };
    case MsgId.Have:
    case MsgId.Suggest:
    case MsgId.AllowedFast:
      expectLength(id === MsgId.Have ? 'have' : id === MsgId.Suggest ? 'suggest' : 'allowed-fast', len, 5);
      return { id, index: u32(buf, start + 1) };
    case MsgId.Choke:
    case MsgId.Unchoke:
    case MsgId.Interested:
    case MsgId.NotInterested:
    case MsgId.HaveAll:
    case MsgId.HaveNone:
      expectLength(['choke', 'unchoke', 'interested', 'not-interested'][id] ?? (id === MsgId.HaveAll ? 'have-all' : 'have-none'), len, 1);
      return BARE[id]!;
    case MsgId.Bitfield:
      // Copied: the bitfield outlives the chunk (it becomes the peer's piece set).
      return { id, bits: Buffer.from(buf.subarray(start + 1, start + len)) };
    case MsgId.Port:
      expectLength('port', len, 3);
      return { id, port: buf.readUInt16BE(start + 1) };
    case MsgId.Extended:
      if (len < 2) throw new WireError(`extended message has length ${len}, expected at least 2`);
      return { id, extId: buf[start + 1]!, payload: buf.subarray(start + 2, start + len) };
    default:
      return { id: UNKNOWN, wireId: id, payload: buf.subarray(start + 1, start + len) };
  }
}
