// Where a peer connection's incoming bytes go. Connections we dial read into one buffer shared by every
// connection of the process (Node's `onread`): no 64 KiB allocation per read as on the default 'data'
// path, which costs ~3.5× the CPU to receive a stream (bench:transfer's leecher). Accepted connections
// come from net.Server, which has no such option, and keep 'data' chunks.
//
// Either way a chunk handed to the sink is valid only during the call: the consumer copies what it keeps
// (WireParser.release() copies an unfinished message; the engine copies blocks into piece buffers).
import type { OnReadOpts, Socket } from 'node:net';

/**
 * 1 MiB: a fast stream then needs few reads. Each read takes the socket's lock, which the sender's side
 * holds while it delivers on loopback: 1 MiB cut the leecher's CPU by ~8 % against 256 KiB (median of 9
 * alternating runs of 256 MiB); 4 MiB did no better. One buffer per process, so the size costs nothing.
 */
const SHARED_READ_BYTES = 1024 * 1024;
let shared: Buffer | null = null;

export type ChunkSink = (chunk: Buffer) => void;

export class SocketReads {
  private sink: ChunkSink | null = null;
  private pending: Buffer[] = [];

  /** Reads that arrive in the shared buffer; pass as `onread` to net.connect. */
  static sharedBuffer(): { reads: SocketReads; onread: OnReadOpts } {
    const reads = new SocketReads();
    shared ??= Buffer.allocUnsafeSlow(SHARED_READ_BYTES);
    const buf = shared;
    return { reads, onread: { buffer: buf, callback: (n) => {
      reads.deliver(buf.subarray(0, n), true);
      return true; // false would stop reading
    } } };
  }

  /** Reads of a socket made elsewhere, from its 'data' events. */
  static dataEvents(socket: Socket): SocketReads {
    const reads = new SocketReads();
    socket.on('data', (chunk: Buffer) => reads.deliver(chunk, false));
    return reads;
  }

  /** From now on chunks go to `sink` (first any that arrived while there was none, in order). */
  setSink(sink: ChunkSink): void {
    this.sink = sink;
    const pending = this.pending;
    this.pending = [];
    for (const c of pending) {
      if (this.sink !== sink) {
        this.pending.push(c);
        continue;
      }
      sink(c);
    }
  }

  /** Stops delivering; chunks arriving meanwhile are kept (copied) for the next sink. */
  clearSink(): void {
    this.sink = null;
  }

  private deliver(chunk: Buffer, transient: boolean): void {
    const sink = this.sink;
    if (sink) sink(chunk);
    else this.pending.push(transient ? Buffer.from(chunk) : chunk);
  }
}
