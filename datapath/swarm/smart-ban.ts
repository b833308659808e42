// Who sent the bad block. When a piece fails its hash with blocks from several peers, blaming all of
// them bans honest peers along with the liar (one honest seeder and one liar: both banned, the download
// stalls). Instead the failed attempt's blocks are fingerprinted as they were written, with who sent
// each; once the piece passes its hash (the picker fetches it from one peer alone next time), every
// block is compared with the good data, and a peer whose block differed is the liar.
import { sha1Of } from '../storage/sha1.js';
import { BLOCK_SIZE } from '../wire/messages.js';

interface SentBlock {
  readonly block: number;
  readonly sender: string;
  readonly digest: Buffer;
}

/** Failed pieces remembered at most (oldest forgotten first): bounds memory against a flood of liars. */
const MAX_PIECES = 256;

export class SmartBan {
  private readonly evidence = new Map<number, SentBlock[]>();

  /** Piece `index` failed; `data` is what was written for it and `senders[b]` sent block b. */
  recordFailure(index: number, data: Buffer, senders: readonly string[]): void {
    let list = this.evidence.get(index);
    if (!list) {
      if (this.evidence.size >= MAX_PIECES) this.evidence.delete(this.evidence.keys().next().value!);
      list = [];
      this.evidence.set(index, list);
    }
    for (let b = 0; b < senders.length; b++) {
      const sender = senders[b];
      if (sender) list.push({ block: b, sender, digest: blockDigest(data, b) });
    }
  }

  /** Whether piece `index` has failed attempts waiting to be judged. */
  has(index: number): boolean {
    return this.evidence.has(index);
  }

  /** Piece `index` passed with `data`: the senders of blocks that differed from it (each once). */
  judge(index: number, data: Buffer): string[] {
    const list = this.evidence.get(index);
    this.evidence.delete(index);
    if (!list) return [];
    const liars = new Set<string>();
    for (const s of list) if (!blockDigest(data, s.block).equals(s.digest)) liars.add(s.sender);
    return [...liars];
  }

  /** Pieces with evidence, for stats and tests. */
  get size(): number {
    return this.evidence.size;
  }
}

function blockDigest(data: Buffer, block: number): Buffer {
  const begin = block * BLOCK_SIZE;
  return sha1Of(data.subarray(begin, Math.min(data.length, begin + BLOCK_SIZE)));
}
