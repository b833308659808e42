// Reads the peer's BEP 3 handshake from a fresh socket (bounded by a timeout) and hands back the
// parser, which may already hold the bytes that followed. The socket is paused on success; bytes that
// still arrive before the connection's owner takes over its reads are kept in the parser, not lost.
import type { Socket } from 'node:net';
import type { Handshake } from '../wire/handshake.js';
import { WireParser } from '../wire/parser.js';
import type { SocketReads } from './socket-reads.js';

export interface HandshakeResult {
  handshake: Handshake;
  parser: WireParser;
}

export function readHandshake(socket: Socket, reads: SocketReads, timeoutMs: number, maxMessageBytes?: number): Promise<HandshakeResult> {
  // The engine copies every block into its piece buffer at once, so split pieces may share one buffer.
  const parser = new WireParser({ handshake: true, transientSplitPieces: true, ...(maxMessageBytes ? { maxMessageBytes } : {}) });
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err: Error | null, hs?: Handshake): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off('end', onClose);
      if (err) {
        reads.clearSink();
        reject(err);
      } else {
        socket.pause();
        resolve({ handshake: hs!, parser });
      }
    };
    const onChunk = (chunk: Buffer): void => {
      parser.push(chunk);
      if (!done) {
        try {
          const item = parser.next();
          if (item && item.id === 'handshake') finish(null, item.handshake);
        } catch (err) {
          finish(err instanceof Error ? err : new Error(String(err)));
        }
      }
      // The chunk may be a shared read buffer: keep what is left in the parser's own memory.
      parser.release();
    };
    const onError = (err: Error): void => finish(err);
    const onClose = (): void => finish(new Error('connection closed during the handshake'));
    const timer = setTimeout(() => finish(new Error(`no handshake within ${timeoutMs} ms`)), timeoutMs);
    reads.setSink(onChunk);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('end', onClose);
    socket.resume();
  });
}
