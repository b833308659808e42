// Datapaths and agents in separate processes, over Unix datagram sockets (unix-dgram).
//
// The agent binds one well-known path and serves any number of datapaths; each datapath binds its own
// path. Both send with sendto from their bound socket, so the receiver learns the sender's path from
// the kernel (it cannot be forged) and the agent knows each datapath by it: a channel opens on the
// first datagram that decodes, and closes on Goodbye or when the datapath's socket is gone.
//
// Why no connected sockets, although only they get unix-dgram's 'writable' event: Linux skips the
// 10-datagram receive-queue limit when the receiver is connected to the sender, so the agent's
// datagrams to a connected but hung datapath would pile up until they filled the agent's one send
// buffer, and the agent could then send to no datapath at all. Unconnected, every receiver holds at
// most 10 datagrams of a sender, a full queue answers EAGAIN, and the sender retries on a timer
// (1 ms, backing off to 64 ms while the peer stays full). Datagrams carry up to 60 KiB of messages, so
// a retry per millisecond still moves far more reports per second than the agent can read.
import { resolve, join, dirname } from 'node:path';
import { chmodSync } from 'node:fs';
import { decodeDatagram, encodeBatch, type DecodedDatagram } from './codec.js';
import { Link, RateLimiter, errorReplyFor, type LinkStats } from './link.js';
import { ErrorCode, MsgType, type Message } from './messages.js';
import type { DatagramSink, SendOutcome } from './outbox.js';
import { ProtocolError } from './protocol-error.js';
import {
  AGENT_SOCKET_NAME,
  cleanStaleSockets,
  defaultSocketDir,
  ensureSocketDir,
  ownSocketFile,
  releaseSocketFile,
  removeIfStale,
} from './socket-dir.js';
import type { AgentServer, Channel, DatapathClient } from './transport.js';
import { DgramSocket, EAGAIN, ENOBUFS, errnoName } from './unix-dgram-socket.js';

export { defaultSocketDir } from './socket-dir.js';

/** First wait before resending to a peer whose receive queue was full. */
const RETRY_MS = 1;
const RETRY_MAX_MS = 64;
const MAX_CHANNELS = 10_000;

export interface ListenAgentOptions {
  /** Socket directory (default defaultSocketDir()). */
  readonly dir?: string;
  /** The agent's socket path (default <dir>/agent.sock). */
  readonly path?: string;
  readonly name?: string;
}

export interface ConnectDatapathOptions {
  readonly dir?: string;
  /** Where the agent listens (default <dir>/agent.sock). */
  readonly agentPath?: string;
  /** Goes into this datapath's socket name: <dir>/dp-<pid>-<name>.sock. */
  readonly name?: string;
}

/** Binds `path` after removing a stale socket file there; refuses a path something is bound to. */
function bindOwned(sock: DgramSocket, path: string, what: string): void {
  const state = removeIfStale(path);
  if (state === 'alive') throw new Error(`${what} ${path} is in use by a running process`);
  const r = sock.bind(path);
  if (r !== 0) throw new Error(`cannot bind ${what} ${path}: ${errnoName(r)}`);
  ownSocketFile(path);
  chmodSync(path, 0o600);
}

/**
 * Sending to a socket path from our bound socket. A full receive queue (EAGAIN) gives no event, so
 * the datagram is retried on a timer: 1 ms, doubling up to 64 ms while the peer stays full (hung).
 */
function sendToPath(
  sock: DgramSocket,
  to: string,
  timers: Set<NodeJS.Timeout>,
): { sink: DatagramSink; waitForRoom: (resume: () => void) => void } {
  let retryMs = RETRY_MS;
  return {
    sink: {
      trySend(datagram: Buffer): SendOutcome {
        const r = sock.sendTo(datagram, to);
        if (r === 0) {
          retryMs = RETRY_MS;
          return 'sent';
        }
        return r === EAGAIN || r === ENOBUFS ? 'congested' : 'gone';
      },
    },
    waitForRoom(resume: () => void): void {
      const t = setTimeout(() => {
        timers.delete(t);
        resume();
      }, retryMs);
      timers.add(t);
      retryMs = Math.min(RETRY_MAX_MS, retryMs * 2);
    },
  };
}

function encodeOne(msg: Message): Buffer {
  return encodeBatch(msg)[0]!;
}

// ---------------------------------------------------------------------------------------------
// Agent side

export interface UnixAgentServer extends AgentServer {
  /** Datagrams that could not be used and had no channel (rogue or broken senders). */
  readonly rejectedDatagrams: number;
  channels(): readonly (Channel & { stats(): LinkStats })[];
}

export async function listenAgent(opts: ListenAgentOptions = {}): Promise<UnixAgentServer> {
  const path = resolve(opts.path ?? join(opts.dir ?? defaultSocketDir(), AGENT_SOCKET_NAME));
  const dir = dirname(path);
  const selfName = `agent ${opts.name ?? `pid ${process.pid}`}`;
  ensureSocketDir(dir);
  cleanStaleSockets(dir);

  const sock = new DgramSocket();
  const links = new Map<string, Link>();
  const retryTimers = new Set<NodeJS.Timeout>();
  const replyLimits = new Map<string, RateLimiter>();
  const channelHandlers: ((ch: Channel) => void)[] = [];
  const unannounced: Link[] = [];
  let rejected = 0;
  let closed = false;

  /** Best-effort Error to a sender without a channel (never queued: it may be a rogue that never reads). */
  const replyDirect = (to: string, err: ProtocolError): void => {
    let limit = replyLimits.get(to);
    if (limit === undefined) {
      if (replyLimits.size > 1024) replyLimits.clear();
      limit = new RateLimiter(20);
      replyLimits.set(to, limit);
    }
    if (limit.allow()) sock.sendTo(encodeOne(errorReplyFor(err, selfName)), to);
  };

  const openChannel = (from: string): Link => {
    const { sink, waitForRoom } = sendToPath(sock, from, retryTimers);
    const link: Link = new Link({
      description: from,
      selfName,
      sink,
      waitForRoom,
      onPeerGone: () => {
        // The datapath's socket is gone (it died without Goodbye): the agent hears a Goodbye, and the
        // channel is forgotten so that a new datapath on that path gets a new one.
        if (links.get(from) === link) links.delete(from);
        queueMicrotask(() => {
          link.deliverLocal({ type: MsgType.Goodbye, reason: `datapath socket ${from} is gone` });
          link.close();
        });
      },
    });
    links.set(from, link);
    return link;
  };

  const announce = (link: Link): void => {
    if (channelHandlers.length === 0) unannounced.push(link);
    for (const h of channelHandlers) h(link);
  };

  sock.onMessage((datagram, from) => {
    if (closed) return;
    if (from === undefined) {
      rejected++; // an unnamed socket: no way to answer it
      return;
    }
    const known = links.get(from);
    if (known !== undefined) {
      known.receive(datagram);
      if (hasGoodbye(datagram)) closeChannel(from, known);
      return;
    }
    let decoded: DecodedDatagram;
    try {
      decoded = decodeDatagram(datagram);
    } catch (err) {
      rejected++;
      replyDirect(from, err instanceof ProtocolError ? err : new ProtocolError(String(err)));
      return;
    }
    if (decoded.messages.length === 0 || decoded.messages.every((m) => m.type === MsgType.Error)) {
      rejected++;
      for (const e of decoded.errors) replyDirect(from, e);
      return;
    }
    if (links.size >= MAX_CHANNELS) {
      rejected++;
      replyDirect(from, new ProtocolError(`${selfName} serves ${MAX_CHANNELS} datapaths already`, ErrorCode.Overloaded));
      return;
    }
    const link = openChannel(from);
    announce(link);
    link.receiveDecoded(decoded);
    if (decoded.messages.some((m) => m.type === MsgType.Goodbye)) closeChannel(from, link);
  });

  const closeChannel = (from: string, link: Link): void => {
    if (links.get(from) === link) links.delete(from);
    link.close();
  };

  bindOwned(sock, path, 'agent socket');

  return {
    address: path,
    get rejectedDatagrams() {
      return rejected;
    },
    channels: () => [...links.values()],
    onChannel(handler: (ch: Channel) => void): void {
      channelHandlers.push(handler);
      for (const link of unannounced.splice(0)) handler(link);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const link of links.values()) link.close();
      links.clear();
      for (const t of retryTimers) clearTimeout(t);
      retryTimers.clear();
      sock.close();
      releaseSocketFile(path);
    },
  };
}

/** Goodbye ends a channel: cheap check on the frame types, without decoding twice. */
function hasGoodbye(datagram: Buffer): boolean {
  if (datagram.length < 12 || datagram.toString('latin1', 0, 4) !== 'CCBT') return false;
  const count = datagram.readUInt16LE(6);
  let o = 12;
  for (let i = 0; i < count && o + 4 <= datagram.length; i++) {
    if (datagram[o] === MsgType.Goodbye) return true;
    o += (4 + datagram.readUInt16LE(o + 2) + 7) & ~7;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Datapath side

export interface UnixDatapathClient extends DatapathClient {
  /** This datapath's own socket path. */
  readonly path: string;
  stats(): LinkStats;
  /** Sends the datagram being built now (normally it goes at the end of the tick). */
  flush(): void;
}

const usedPaths = new Set<string>();

function datapathSocketPath(dir: string, name: string | undefined): string {
  const clean = name === undefined ? '' : name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40);
  const base = `dp-${process.pid}${clean === '' ? '' : `-${clean}`}`;
  for (let n = 1; ; n++) {
    const candidate = join(dir, `${base}${n === 1 ? '' : `-${n}`}.sock`);
    if (usedPaths.has(candidate)) continue;
    if (removeIfStale(candidate) === 'alive') continue;
    return candidate;
  }
}

export async function connectDatapath(opts: ConnectDatapathOptions = {}): Promise<UnixDatapathClient> {
  const dir = resolve(opts.dir ?? defaultSocketDir());
  const agentPath = resolve(opts.agentPath ?? join(dir, AGENT_SOCKET_NAME));
  ensureSocketDir(dir);
  cleanStaleSockets(dir);
  const path = datapathSocketPath(dir, opts.name);
  const selfName = `datapath ${opts.name ?? ''} (pid ${process.pid})`.replace('  ', ' ');

  const sock = new DgramSocket();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  const strangerNotices = new RateLimiter(1);
  const { sink, waitForRoom } = sendToPath(sock, agentPath, timers);

  const link = new Link({ description: agentPath, selfName, sink, waitForRoom });

  sock.onMessage((datagram, from) => {
    if (closed) return;
    if (from === agentPath) {
      link.receive(datagram);
      return;
    }
    // Not the agent (the kernel names the sender's bound path; it cannot be forged): not our business.
    if (strangerNotices.allow()) {
      link.emitError(new Error(`ignored a datagram from ${from ?? 'an unnamed socket'}: only ${agentPath} may talk to this datapath`));
    }
  });

  bindOwned(sock, path, 'datapath socket');
  usedPaths.add(path);

  return {
    path,
    description: agentPath,
    send: (msg: Message) => link.send(msg),
    onMessage: (h) => link.onMessage(h),
    onError: (h) => link.onError(h),
    stats: () => link.stats(),
    flush: () => link.flush(),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      link.close();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      sock.close();
      usedPaths.delete(path);
      releaseSocketFile(path);
    },
  };
}
