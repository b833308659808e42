// The world's content: `size` pseudo-random bytes from the seed (the same seed gives the same file, so
// every algorithm downloads the same thing), its .torrent, and the partial copies world peers start with.
import { open, mkdir, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTorrent } from '../datapath/metainfo/create.js';
import { parseMetainfo, type Metainfo } from '../datapath/metainfo/metainfo.js';
import { rngFor, type Rng } from './random.js';

export interface WorldContent {
  /** The complete file. */
  readonly dataPath: string;
  readonly torrentPath: string;
  readonly torrent: Buffer;
  readonly meta: Metainfo;
}

export const CONTENT_NAME = 'world.bin';

/** Writes the content into `dir` and makes its torrent announcing to `trackers`. */
export async function makeContent(dir: string, seed: number, sizeBytes: number, pieceLength: number, trackers: string[]): Promise<WorldContent> {
  await mkdir(dir, { recursive: true });
  const dataPath = join(dir, CONTENT_NAME);
  const rng = rngFor(seed, 'content');
  const fh = await open(dataPath, 'w');
  try {
    const chunk = Buffer.alloc(1 << 20);
    for (let off = 0; off < sizeBytes; off += chunk.length) {
      const n = Math.min(chunk.length, sizeBytes - off);
      rng.fill(chunk.subarray(0, n));
      await fh.write(chunk, 0, n, off);
    }
  } finally {
    await fh.close();
  }
  // A fixed creation date keeps the torrent byte-identical for the same seed.
  const torrent = await createTorrent({ path: dataPath, trackers: [trackers], pieceLength, creationDate: null, createdBy: 'ccp-bt world' });
  const torrentPath = join(dir, 'world.torrent');
  await writeFile(torrentPath, torrent);
  return { dataPath, torrentPath, torrent, meta: parseMetainfo(torrent) };
}

/** The pieces a peer at `stage` (a fraction in [0, 1]) starts with: a random subset of ⌊stage·pieces⌋. */
export function stagePieces(rng: Rng, pieceCount: number, stage: number): number[] {
  if (stage >= 1) return Array.from({ length: pieceCount }, (_, i) => i);
  return rng.sample(pieceCount, Math.floor(Math.max(0, stage) * pieceCount));
}

/**
 * Puts the given pieces of the content into `dir` (where a peer will find them on its resume check).
 * The rest of the file is left as a hole, which fails its hash and so counts as missing.
 */
export async function writeStage(content: WorldContent, dir: string, pieces: readonly number[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const dest = join(dir, content.meta.name);
  const { pieceLength, pieceCount, totalBytes } = content.meta;
  if (pieces.length === 0) return;
  if (pieces.length === pieceCount) {
    await copyFile(content.dataPath, dest);
    return;
  }
  const src = await open(content.dataPath, 'r');
  const out = await open(dest, 'w');
  try {
    await out.truncate(totalBytes);
    const buf = Buffer.alloc(pieceLength);
    for (const p of pieces) {
      const off = p * pieceLength;
      const len = Math.min(pieceLength, totalBytes - off);
      const { bytesRead } = await src.read(buf, 0, len, off);
      await out.write(buf, 0, bytesRead, off);
    }
  } finally {
    await src.close();
    await out.close();
  }
}
