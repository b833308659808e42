// One direction of a proxied connection: reads `src`, cuts the bytes into units with a WireTap,
// pays each unit's payload to the token buckets, and writes the original bytes to `dst` in order.
// Backpressure, not buffering: `src` is paused while enough is queued or `dst` is full, so a paced
// direction holds at most about `highWaterBytes` plus one message.
import type { Socket } from 'node:net';
import { Pacer, type PacerHandle, type TokenBucket, nowUs } from '../datapath/flow/token-bucket.js';
import { MsgId } from '../datapath/wire/index.js';
import { ByteQueue } from './byte-queue.js';
import { WireTap, type TapUnit } from './wire-tap.js';

/** What the owner decides for a unit when it reaches the head of the queue. */
export type Route = 'forward' | 'hold' | 'drop';

export interface DirectionHooks {
  /** A unit was parsed (it may wait in the queue for a while). */
  onArrive(unit: TapUnit, nowUs: number): void;
  /** At the head of the queue: forward it, hold it (the owner keeps it and may inject it later), or drop it. */
  route(unit: TapUnit): Route;
  /** The unit's bytes were handed to `dst`. */
  onForward(unit: TapUnit, nowUs: number): void;
  /** Buckets each forwarded payload byte is paid to (flow and global caps). */
  buckets(): readonly TokenBucket[];
  /** The stream stopped parsing as BitTorrent. */
  onOpaque(reason: string): void;
  /** `src` ended and everything it sent has been handed to `dst`, which was ended. */
  onFinished(): void;
}

export interface DirectionOptions {
  readonly highWaterBytes?: number;
}

/** Payload bytes of a unit: piece blocks and opaque runs are paced; protocol overhead passes free. */
export function payloadOf(u: TapUnit): number {
  if (u.kind === 'opaque') return u.bytes;
  if (u.kind === 'message' && u.msg.id === MsgId.Piece) return u.msg.block.length;
  return 0;
}

/**
 * Paced units are written in slices of about 1/64 s of the tightest rate (1–16 KiB), so that even a
 * slow rate flows evenly instead of a block at a time.
 */
export function sliceBytesFor(buckets: readonly TokenBucket[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (const b of buckets) if (b.rateBps > 0 && b.rateBps < min) min = b.rateBps;
  if (min === Number.POSITIVE_INFINITY) return 16 * 1024;
  return Math.max(1024, Math.min(16 * 1024, Math.floor(min / 64)));
}

export class RelayDirection {
  private readonly raw = new ByteQueue();
  private readonly tap = new WireTap();
  private readonly units: TapUnit[] = [];
  private unitHead = 0;
  /** Bytes of the head unit already written (a paced unit goes out in slices). */
  private headSent = 0;
  /** Messages to write once the half-written head unit is complete. */
  private injected: Buffer[] = [];
  private wait: PacerHandle | null = null;
  private dstFull = false;
  private pausedByUs = false;
  private srcEnded = false;
  private endedDst = false;
  private closed = false;
  private opaqueSeen = false;
  private readonly highWater: number;
  /** Raw bytes written to dst, and payload bytes among them. */
  bytesForwarded = 0;
  payloadForwarded = 0;

  constructor(
    private readonly src: Socket,
    private readonly dst: Socket,
    private readonly pacer: Pacer,
    private readonly hooks: DirectionHooks,
    opts: DirectionOptions = {},
  ) {
    this.highWater = opts.highWaterBytes ?? 64 * 1024;
    src.on('data', this.onData);
    src.on('end', this.onEnd);
    dst.on('drain', this.onDrain);
  }

  /** Bytes read and not yet forwarded (parsed or not). */
  get queuedBytes(): number {
    return this.raw.length;
  }

  /** True once src ended and all its bytes were passed on (dst ended). */
  get finished(): boolean {
    return this.endedDst;
  }

  get opaqueReason(): string | null {
    return this.tap.opaqueReason;
  }

  /** Feeds bytes that arrived before the relay took over (e.g. after a SOCKS request). */
  feed(chunk: Buffer): void {
    if (chunk.length > 0) this.onData(chunk);
  }

  /** Writes `bytes` to dst at the next message boundary (now, unless a unit is half-written). */
  inject(bytes: Buffer): void {
    if (this.closed || this.endedDst) return;
    if (this.headSent > 0) {
      this.injected.push(bytes);
      return;
    }
    if (!this.dst.write(bytes)) this.dstFull = true;
    this.bytesForwarded += bytes.length;
  }

  /** Re-evaluate now: a rate, a choke or a window changed. */
  kick(): void {
    if (this.wait) {
      this.wait.cancel();
      this.wait = null;
    }
    this.pump();
  }

  close(): void {
    this.closed = true;
    this.wait?.cancel();
    this.wait = null;
    this.src.off('data', this.onData);
    this.src.off('end', this.onEnd);
    this.dst.off('drain', this.onDrain);
    this.raw.clear();
    this.units.length = 0;
    this.unitHead = 0;
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.closed) return;
    const now = nowUs();
    this.raw.push(chunk);
    const start = this.units.length;
    this.tap.push(chunk, this.units);
    if (!this.opaqueSeen && this.tap.opaqueReason !== null) {
      this.opaqueSeen = true;
      this.hooks.onOpaque(this.tap.opaqueReason);
    }
    for (let i = start; i < this.units.length; i++) this.hooks.onArrive(this.units[i]!, now);
    this.pump();
  };

  private readonly onEnd = (): void => {
    this.srcEnded = true;
    this.pump();
  };

  private readonly onDrain = (): void => {
    this.dstFull = false;
    this.pump();
  };

  private pump(): void {
    if (this.closed || this.wait) return;
    while (this.unitHead < this.units.length && !this.dstFull) {
      const u = this.units[this.unitHead]!;
      if (this.headSent === 0) {
        const route = this.hooks.route(u);
        if (route === 'hold' || route === 'drop') {
          this.raw.take(u.bytes);
          this.unitHead++;
          continue;
        }
      }
      // Paced units go in slices, so a slow rate flows smoothly rather than a block at a time; each
      // slice pays for the payload bytes in it (a piece's 13-byte header is free).
      const payload = payloadOf(u);
      const buckets = this.hooks.buckets();
      const n = payload > 0 ? Math.min(sliceBytesFor(buckets), u.bytes - this.headSent) : u.bytes;
      const headerBytes = u.bytes - payload;
      const cost = payload > 0 ? Math.max(0, this.headSent + n - Math.max(headerBytes, this.headSent)) : 0;
      if (cost > 0) {
        const now = nowUs();
        let delay = 0;
        for (const b of buckets) delay = Math.max(delay, b.delayUs(cost, now));
        if (delay > 0) {
          this.wait = this.pacer.after(delay, () => {
            this.wait = null;
            this.pump();
          });
          break;
        }
        for (const b of buckets) b.consume(cost, now);
      }
      const parts = this.raw.take(n);
      let ok = true;
      for (const part of parts) ok = this.dst.write(part);
      if (!ok) this.dstFull = true;
      this.headSent += n;
      this.bytesForwarded += n;
      this.payloadForwarded += cost;
      if (this.headSent < u.bytes) continue;
      this.headSent = 0;
      this.unitHead++;
      this.hooks.onForward(u, nowUs());
      if (this.closed) return;
      this.flushInjected();
    }
    if (this.unitHead > 256 && this.unitHead * 2 > this.units.length) {
      this.units.splice(0, this.unitHead);
      this.unitHead = 0;
    }
    this.flowControl();
  }

  private flushInjected(): void {
    if (this.injected.length === 0) return;
    const list = this.injected;
    this.injected = [];
    for (const b of list) this.inject(b);
  }

  private flowControl(): void {
    const backlog = this.unitHead < this.units.length;
    // Pause while a complete unit waits and enough is queued; an incomplete message keeps reading.
    const shouldPause = this.dstFull || (backlog && this.raw.length >= this.highWater);
    if (shouldPause && !this.pausedByUs) {
      this.pausedByUs = true;
      this.src.pause();
    } else if (!shouldPause && this.pausedByUs) {
      this.pausedByUs = false;
      this.src.resume();
    }
    if (this.srcEnded && !backlog && !this.endedDst) {
      // The source may have ended inside a message: forward the tail as it is.
      this.endedDst = true;
      if (this.raw.length > 0) for (const p of this.raw.take(this.raw.length)) this.dst.write(p);
      this.dst.end();
      this.hooks.onFinished();
    }
  }
}
