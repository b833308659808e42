// A passive, tolerant reader of one direction of a peer wire stream: it sees the same bytes that are
// forwarded and cuts them into units (the handshake, each message, or opaque runs), never altering
// them. It reuses the engine's WireParser; the first protocol violation (an encrypted MSE stream, a
// non-BitTorrent protocol, garbage) turns the rest of the stream into opaque bytes, still forwarded.
import { WireError, WireParser, type Handshake, type WireMessage } from '../datapath/wire/index.js';

/** Opaque bytes are paced in pieces of this size, like a block. */
export const OPAQUE_UNIT_BYTES = 16 * 1024;

export type TapUnit =
  | { readonly kind: 'handshake'; readonly bytes: number; readonly handshake: Handshake }
  | { readonly kind: 'message'; readonly bytes: number; readonly msg: WireMessage }
  | { readonly kind: 'opaque'; readonly bytes: number };

export class WireTap {
  private readonly parser: WireParser;
  private pushed = 0;
  private consumed = 0;
  private opaque: string | null = null;

  constructor(opts: { maxMessageBytes?: number } = {}) {
    this.parser = new WireParser({ handshake: true, maxMessageBytes: opts.maxMessageBytes ?? 4 * 1024 * 1024 });
  }

  /** Why the stream is opaque (null while it parses as BitTorrent). */
  get opaqueReason(): string | null {
    return this.opaque;
  }

  /** Bytes pushed but not yet part of a complete unit (an incomplete message). */
  get pending(): number {
    return this.pushed - this.consumed;
  }

  /** Feeds `chunk` and appends the units it completes to `out`. */
  push(chunk: Buffer, out: TapUnit[]): void {
    if (chunk.length === 0) return;
    this.pushed += chunk.length;
    if (this.opaque === null) this.parser.push(chunk);
    this.drain(out);
  }

  private drain(out: TapUnit[]): void {
    while (this.opaque === null) {
      let item;
      try {
        item = this.parser.next();
      } catch (err) {
        this.opaque = err instanceof WireError ? err.message : `parser failed: ${String(err)}`;
        break;
      }
      if (item === null) return;
      const now = this.pushed - this.parser.buffered;
      const bytes = now - this.consumed;
      this.consumed = now;
      if (item.id === 'handshake') out.push({ kind: 'handshake', bytes, handshake: item.handshake });
      else out.push({ kind: 'message', bytes, msg: item });
    }
    // Opaque: everything not yet handed out goes as runs of at most one block.
    while (this.consumed < this.pushed) {
      const n = Math.min(OPAQUE_UNIT_BYTES, this.pushed - this.consumed);
      this.consumed += n;
      out.push({ kind: 'opaque', bytes: n });
    }
  }
}
