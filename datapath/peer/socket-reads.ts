// Where a peer connection's incoming bytes go. Connections we dial read into one buffer shared by every
// connection of the process (Node's `onread`): no 64 KiB allocation per read as on the default 'data'
// path, which costs ~3.5× the CPU to receive a stream (bench:transfer's leecher). Accepted connections
// are moved onto it too (adoptAccepted); a socket from elsewhere keeps 'data' chunks.
//
// Either way a chunk handed to the sink is valid only during the call: the consumer copies what it keeps
// (WireParser.release() copies an unfinished message; the engine copies blocks into piece buffers).
import { Socket as NetSocket, type OnReadOpts, type Socket, type SocketConstructorOpts } from 'node:net';

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

  /**
   * An accepted connection (its server made with `pauseOnConnect: true`) moved onto the shared read
   * buffer: net.Server has no `onread` option, so the connection's handle is taken over by a new Socket
   * that has one, and the server's own Socket object is retired (which also keeps the server's count
   * of connections right). If the handle cannot be taken, the socket stays as it is, on 'data' events.
   */
  static adoptAccepted(accepted: Socket): { socket: Socket; reads: SocketReads } {
    const holder = accepted as unknown as { _handle?: object | null };
    const handle = holder._handle;
    if (!handle || accepted.destroyed) return { socket: accepted, reads: SocketReads.dataEvents(accepted, true) };
    const { reads, onread } = SocketReads.sharedBuffer();
    let socket: Socket;
    try {
      // `handle` is how Node itself wraps accepted and inherited handles (net.Socket's constructor).
      socket = new NetSocket({ handle, onread, readable: true, writable: true } as SocketConstructorOpts);
    } catch {
      return { socket: accepted, reads: SocketReads.dataEvents(accepted, true) };
    }
    holder._handle = null;
    accepted.destroy();
    socket.setNoDelay(true);
    return { socket, reads };
  }

  /** Reads of a socket made elsewhere, from its 'data' events. */
  static dataEvents(socket: Socket, resume = false): SocketReads {
    const reads = new SocketReads();
    socket.on('data', (chunk: Buffer) => reads.deliver(chunk, false));
    if (resume) socket.resume();
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
