// Datapaths and agents in separate processes, over Unix datagram sockets (unix-dgram).
//
// The agent binds one well-known path and serves any number of datapaths; each datapath binds its own
// path and *connects* its socket to the agent's. Why this shape:
// - Reports (the heavy direction) leave from a connected socket, the only kind on which unix-dgram
//   says when a congested socket has room again ('writable'); the agent's replies go with sendto from
//   its bound socket and are retried on a 1 ms timer when the datapath's queue is full.
// - A connected datapath socket only accepts datagrams from the agent's socket (the kernel refuses
//   other senders), so a rogue process cannot talk to a datapath that is attached.
// - The agent knows each datapath by the path its datagrams come from: a channel opens on the first
//   datagram that decodes, and closes on Goodbye or when its socket is gone.
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
import { CONGESTED, DgramSocket, EAGAIN, ECONNREFUSED, ENOBUFS, ENOTCONN, errnoName } from './unix-dgram-socket.js';

export { defaultSocketDir } from './socket-dir.js';

/** How long the agent waits before resending to a datapath whose receive queue was full. */
const AGENT_RETRY_MS = 1;
/** A datapath resends after this long even if 'writable' never comes (the agent died meanwhile). */
const WRITABLE_TIMEOUT_MS = 1000;
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

function encodeOne(msg: Message): Buffer {
  return encodeBatch(msg)[0]!;
}

// ---------------------------------------------------------------------------------------------
// Agent side

export interface UnixAgentServer extends AgentServer {
  /** Datagrams that could not be used and had no channel (rogue or broken senders). */
  readonly rejectedDatagrams: number;
  channels(): readonly Channel[];
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
    const sink: DatagramSink = {
      trySend(datagram: Buffer): SendOutcome {
        const r = sock.sendTo(datagram, from);
        if (r === 0) return 'sent';
        return r === EAGAIN || r === ENOBUFS ? 'congested' : 'gone';
      },
    };
    const link: Link = new Link({
      description: from,
      selfName,
      sink,
      waitForRoom: (resume) => {
        const t = setTimeout(() => {
          retryTimers.delete(t);
          resume();
        }, AGENT_RETRY_MS);
        retryTimers.add(t);
      },
      onPeerGone: () => {
        // The datapath's socket is gone: forget it, so a new datapath on that path gets a new channel.
        if (links.get(from) === link) links.delete(from);
        queueMicrotask(() => link.close());
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
  let connected = false;
  let writableTimer: NodeJS.Timeout | null = null;
  let pendingResume: (() => void) | null = null;
  let closed = false;
  const strangerNotices = new RateLimiter(1);

  const tryConnect = (): boolean => {
    connected = sock.connect(agentPath) === 0;
    return connected;
  };

  const sink: DatagramSink = {
    trySend(datagram: Buffer): SendOutcome {
      if (!connected && !tryConnect()) return 'gone';
      let r = sock.send(datagram);
      if (r === ECONNREFUSED || r === ENOTCONN) {
        // The agent we were connected to died; a new one may be listening at the same path.
        r = tryConnect() ? sock.send(datagram) : r;
      }
      if (r === 0) return 'sent';
      if (r === CONGESTED) return 'congested';
      connected = false;
      return 'gone';
    },
  };

  const resumeNow = (): void => {
    if (writableTimer !== null) clearTimeout(writableTimer);
    writableTimer = null;
    const resume = pendingResume;
    pendingResume = null;
    resume?.();
  };

  const link = new Link({
    description: agentPath,
    selfName,
    sink,
    waitForRoom: (resume) => {
      pendingResume = resume;
      writableTimer = setTimeout(resumeNow, WRITABLE_TIMEOUT_MS);
    },
  });

  sock.onWritable(resumeNow);
  sock.onMessage((datagram, from) => {
    if (closed) return;
    if (from === agentPath) {
      link.receive(datagram);
      return;
    }
    // Only possible while not connected (the kernel filters otherwise): not the agent, not our business.
    if (strangerNotices.allow()) {
      link.emitError(new Error(`ignored a datagram from ${from ?? 'an unnamed socket'}: only ${agentPath} may talk to this datapath`));
    }
  });

  bindOwned(sock, path, 'datapath socket');
  usedPaths.add(path);
  tryConnect(); // the agent may not exist yet: sends retry connecting

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
      if (writableTimer !== null) clearTimeout(writableTimer);
      writableTimer = null;
      pendingResume = null;
      sock.close();
      usedPaths.delete(path);
      releaseSocketFile(path);
    },
  };
}
