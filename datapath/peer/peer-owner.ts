// What a peer connection needs from the torrent it belongs to, and from the session around it.
// Torrent implements PeerOwner; Session provides the EngineContext.
import type { Bitfield } from '../storage/bitfield.js';
import type { FlowEventSink } from '../flow/flow-api.js';
import type { Pacer, TokenBucket } from '../flow/token-bucket.js';
import type { Picker } from '../swarm/picker.js';
import type { BlockDone, PinnedBlock } from '../swarm/read-cache.js';
import type { Peer } from './peer.js';

/** Timeouts (defaults in DEFAULT_TIMEOUTS); tests shorten them. */
export interface EngineTimeouts {
  /** Connect and handshake, each. */
  handshakeMs: number;
  /** Nothing received for this long: the connection is dead. */
  idleMs: number;
  /** A request unanswered for max(this, 4 × latency): the peer snubs us. */
  requestMs: number;
  /** No block for this long while we wait: the peer snubs us. */
  snubMs: number;
}

export const DEFAULT_TIMEOUTS: EngineTimeouts = { handshakeMs: 10_000, idleMs: 180_000, requestMs: 20_000, snubMs: 30_000 };

export interface EngineContext {
  readonly timeouts: EngineTimeouts;
  /** The control plane's sink, or null (then no events are built at all). */
  readonly sink: FlowEventSink | null;
  /** Shared Event bank, rewritten before each sink call. */
  readonly eventBank: Float64Array;
  /** Global caps (rate 0 = none). */
  readonly upBucket: TokenBucket;
  readonly downBucket: TokenBucket;
  readonly pacer: Pacer;
  readonly clientName: string;
  readonly listenPort: number;
  log(message: string): void;
}

export interface PeerOwner {
  readonly context: EngineContext;
  readonly infoHash: Buffer;
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalBytes: number;
  readonly have: Bitfield;
  readonly picker: Picker;
  readonly torrentStats: Float64Array;
  /** A block to upload, through `done` (never synchronously); release() it once written or dropped (its buffer is then reused). */
  fetchBlock(index: number, begin: number, length: number, done: BlockDone): void;
  /** The block without waiting if it is already in memory, else null; release() it as above. */
  peekBlock(index: number, begin: number, length: number): PinnedBlock | null;
  /**
   * A block arrived (requested or not); the owner stores it and cancels duplicates in end-game. `block`
   * may lie in a buffer that is reused after the read is handled: see flushBlocks.
   */
  onBlock(peer: Peer, index: number, begin: number, block: Buffer): void;
  /** The read that delivered blocks is handled: whatever the owner keeps of them must be copied or written now. */
  flushBlocks(): void;
  /** Top the peer's requests up to its window. */
  fillRequests(peer: Peer): void;
  onPeerInterest(peer: Peer): void;
  /** The peer's piece set grew (bitfield, have, have-all). */
  onPeerPieces(peer: Peer): void;
  onPeerClosed(peer: Peer, reason: string): void;
  /** The peer gave up requests it owed us (rejected, stalled, closing): pieces it was to send alone go to others. */
  onPeerGaveUp(peer: Peer): void;
  onTransfer(sent: number, recv: number, nowUs: number): void;
  /** Brings the Torrent bank's rates up to `nowUs` (before a program reads them). */
  refreshRates(nowUs: number): void;
}
