// Swarm totals per info-hash for the flows the proxy sees (the TORRENT bank of the datapath schema).
// Opaque flows share the all-zero info-hash entry.
import { TORRENT, TORRENT_BANK_SIZE } from '../datapath/program/schema.js';
import type { ShapedFlow } from './shaped-flow.js';
import { FLOW } from '../datapath/program/schema.js';

interface TorrentEntry {
  readonly bank: Float64Array;
  readonly flows: Set<ShapedFlow>;
}

const OPAQUE_KEY = '0'.repeat(40);

export class TorrentTable {
  private readonly entries = new Map<string, TorrentEntry>();

  /** The bank for the flow's torrent, registering the flow with it. */
  bankFor(flow: ShapedFlow): Float64Array {
    const k = flow.infoHashHex || OPAQUE_KEY;
    let e = this.entries.get(k);
    if (!e) {
      e = { bank: new Float64Array(TORRENT_BANK_SIZE), flows: new Set() };
      this.entries.set(k, e);
    }
    e.flows.add(flow);
    e.bank[TORRENT.peers] = e.flows.size;
    return e.bank;
  }

  remove(flow: ShapedFlow): void {
    const k = flow.infoHashHex || OPAQUE_KEY;
    const e = this.entries.get(k);
    if (!e) return;
    e.flows.delete(flow);
    e.bank[TORRENT.peers] = e.flows.size;
    if (e.flows.size === 0) this.entries.delete(k);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Recomputes every torrent's totals from its flows' banks (refresh those first). */
  refresh(): void {
    for (const e of this.entries.values()) {
      let out = 0;
      let inn = 0;
      let unchoked = 0;
      let seeding = false;
      let leftPieces = 0;
      let pieceLen = 0;
      for (const f of e.flows) {
        out += f.stats[FLOW.rate_out]!;
        inn += f.stats[FLOW.rate_in]!;
        if (f.stats[FLOW.am_choking] === 0) unchoked++;
        if (f.clientPieces.complete()) seeding = true;
        const known = f.clientPieces.knownLength;
        if (known > 0) leftPieces = Math.max(leftPieces, known - f.clientPieces.count);
        pieceLen = Math.max(pieceLen, f.maxRequestEnd);
      }
      const b = e.bank;
      b[TORRENT.rate_out] = out;
      b[TORRENT.rate_in] = inn;
      b[TORRENT.peers] = e.flows.size;
      b[TORRENT.unchoked] = unchoked;
      b[TORRENT.seeding] = seeding ? 1 : 0;
      // The proxy never sees the metainfo: estimate the piece length from requests (a power of two).
      b[TORRENT.left_bytes] = seeding ? 0 : leftPieces * (pieceLen > 0 ? 2 ** Math.ceil(Math.log2(pieceLen)) : 0);
    }
  }
}
