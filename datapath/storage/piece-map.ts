// Maps ranges of the torrent's byte space onto its files (a piece may span many files).
import type { Metainfo } from '../metainfo/metainfo.js';

/** One contiguous run of bytes inside one file. */
export interface FileSegment {
  fileIndex: number;
  fileOffset: number; // where in the file
  length: number;
  bufferOffset: number; // where in the caller's buffer (relative to the range start)
}

export class PieceMap {
  /** File start offsets, ascending; zero-length files share the offset of their neighbour. */
  private readonly starts: number[];

  constructor(private readonly meta: Metainfo) {
    this.starts = meta.files.map((f) => f.offset);
  }

  /**
   * The file segments covering [offset, offset + length) of the torrent. Zero-length files at a position
   * inside the range (or at its very end when the range ends the torrent) come back as length-0 segments,
   * so whoever writes the range also creates them.
   */
  segments(offset: number, length: number): FileSegment[] {
    const out: FileSegment[] = [];
    const end = offset + length;
    const files = this.meta.files;
    const endsTorrent = end === this.meta.totalBytes;
    // First file whose range could contain `offset`: the last with start <= offset, moved back over
    // zero-length files sitting at the same start.
    let i = this.lastStartAtOrBefore(offset);
    while (i > 0 && files[i - 1]!.offset === files[i]!.offset && files[i - 1]!.offset >= offset) i--;
    for (; i < files.length; i++) {
      const f = files[i]!;
      if (f.offset > end || (f.offset === end && !(endsTorrent && f.length === 0))) break;
      const fileEnd = f.offset + f.length;
      if (f.length === 0) {
        if (f.offset >= offset) out.push({ fileIndex: i, fileOffset: 0, length: 0, bufferOffset: f.offset - offset });
        continue;
      }
      if (fileEnd <= offset) continue;
      const from = Math.max(offset, f.offset);
      const to = Math.min(end, fileEnd);
      if (to > from) out.push({ fileIndex: i, fileOffset: from - f.offset, length: to - from, bufferOffset: from - offset });
    }
    return out;
  }

  private lastStartAtOrBefore(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
