// One SOCKS5 client connection up to the point where the tunnel is open: greeting, optional
// username/password, CONNECT, dialing the target with a timeout, the reply. Any failure answers with
// the proper reply code when the stage has one, closes this connection only, and reports why.
import { connect, type Socket } from 'node:net';
import {
  AuthMethod,
  Command,
  Reply,
  Socks5Error,
  encodeAuthReply,
  encodeMethodReply,
  encodeReply,
  parseGreeting,
  parseRequest,
  parseUserPass,
  type Credentials,
  type SocksRequest,
} from './socks5-parser.js';

export interface Socks5Options {
  /** Require these credentials (RFC 1929); undefined = no authentication. */
  readonly credentials?: Credentials;
  /** Whole negotiation must finish within this (ms). */
  readonly handshakeTimeoutMs: number;
  /** Dialing the target must succeed within this (ms). */
  readonly connectTimeoutMs: number;
  /** Veto a target (e.g. loopback-only policy in tests); return a reason to refuse. */
  readonly allowTarget?: (host: string, port: number) => string | null;
}

export interface OpenTunnel {
  readonly client: Socket;
  readonly remote: Socket;
  readonly request: SocksRequest;
  /** Bytes the client sent after its request, before the reply (forward them to the remote). */
  readonly early: Buffer;
}

type Stage = 'greeting' | 'auth' | 'request' | 'dialing' | 'done';

/** Runs the negotiation on `client`; calls `onOpen` with a tunnel, or `onFail` with the reason. */
export function negotiateSocks5(client: Socket, opts: Socks5Options, onOpen: (t: OpenTunnel) => void, onFail: (reason: string) => void): void {
  let stage: Stage = 'greeting';
  let buf: Buffer = Buffer.alloc(0);
  let remote: Socket | null = null;
  let finished = false;

  const timer = setTimeout(() => fail(`SOCKS5 negotiation not finished within ${opts.handshakeTimeoutMs} ms (stage ${stage})`, stage === 'dialing' ? Reply.TtlExpired : null), opts.handshakeTimeoutMs);

  function cleanup(): void {
    clearTimeout(timer);
    client.off('data', onData);
    client.off('error', onClientError);
    client.off('close', onClientClose);
  }

  function fail(reason: string, reply: Reply | null): void {
    if (finished) return;
    finished = true;
    cleanup();
    remote?.destroy();
    if (reply !== null && !client.destroyed) client.end(encodeReply(reply));
    else client.destroy();
    // A peer that never reads must not keep the socket: end() may not complete.
    setTimeout(() => client.destroy(), 2000).unref();
    onFail(reason);
  }

  function onClientError(err: Error): void {
    fail(`client socket error: ${err.message}`, null);
  }
  function onClientClose(): void {
    fail(`client hung up during SOCKS5 ${stage}`, null);
  }

  function onData(chunk: Buffer): void {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    if (buf.length > 1024 && stage !== 'dialing') {
      fail('SOCKS5 negotiation message too long', stage === 'request' ? Reply.GeneralFailure : null);
      return;
    }
    try {
      step();
    } catch (err) {
      if (err instanceof Socks5Error) fail(err.message, stage === 'request' ? err.reply : null);
      else fail(`SOCKS5 negotiation failed: ${err instanceof Error ? err.message : String(err)}`, null);
    }
  }

  function step(): void {
    for (;;) {
      if (stage === 'greeting') {
        const g = parseGreeting(buf);
        if (!g) return;
        buf = buf.subarray(g.used);
        const want = opts.credentials ? AuthMethod.UserPass : AuthMethod.None;
        if (!g.value.includes(want)) {
          client.write(encodeMethodReply(AuthMethod.NoAcceptable));
          fail(`client offers no acceptable auth method (wanted ${want === AuthMethod.None ? 'none' : 'username/password'}, got ${g.value.join(',')})`, null);
          return;
        }
        client.write(encodeMethodReply(want));
        stage = want === AuthMethod.UserPass ? 'auth' : 'request';
      } else if (stage === 'auth') {
        const a = parseUserPass(buf);
        if (!a) return;
        buf = buf.subarray(a.used);
        const c = opts.credentials!;
        const ok = a.value.user === c.user && a.value.password === c.password;
        if (!ok) {
          client.write(encodeAuthReply(false));
          fail(`wrong username or password for '${a.value.user.slice(0, 64)}'`, null);
          return;
        }
        client.write(encodeAuthReply(true));
        stage = 'request';
      } else if (stage === 'request') {
        const r = parseRequest(buf);
        if (!r) return;
        buf = buf.subarray(r.used);
        if (r.value.command !== Command.Connect) {
          fail(`SOCKS5 command ${r.value.command} not supported (only CONNECT)`, Reply.CommandNotSupported);
          return;
        }
        if (r.value.port === 0) {
          fail('SOCKS5 CONNECT to port 0', Reply.HostUnreachable);
          return;
        }
        const veto = opts.allowTarget?.(r.value.host, r.value.port) ?? null;
        if (veto) {
          fail(`target ${r.value.host}:${r.value.port} refused: ${veto}`, Reply.NotAllowed);
          return;
        }
        stage = 'dialing';
        // Hold whatever the client sends next in its socket until the tunnel is handed over.
        client.pause();
        dial(r.value);
        return;
      } else {
        return; // dialing: keep what the client sends early in `buf`
      }
    }
  }

  function dial(req: SocksRequest): void {
    const sock = connect({ host: req.host, port: req.port });
    remote = sock;
    sock.setNoDelay(true);
    const dialTimer = setTimeout(() => fail(`connect to ${req.host}:${req.port} timed out after ${opts.connectTimeoutMs} ms`, Reply.TtlExpired), opts.connectTimeoutMs);
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(dialTimer);
      fail(`connect to ${req.host}:${req.port} failed: ${err.message}`, replyForError(err));
    });
    sock.once('connect', () => {
      clearTimeout(dialTimer);
      if (finished) {
        sock.destroy();
        return;
      }
      finished = true;
      cleanup();
      stage = 'done';
      sock.removeAllListeners('error');
      client.write(encodeReply(Reply.Succeeded, sock.localAddress ?? '0.0.0.0', sock.localPort ?? 0));
      onOpen({ client, remote: sock, request: req, early: buf });
    });
  }

  client.on('data', onData);
  client.on('error', onClientError);
  client.on('close', onClientClose);
}

function replyForError(err: NodeJS.ErrnoException): Reply {
  switch (err.code) {
    case 'ECONNREFUSED':
      return Reply.ConnectionRefused;
    case 'ENETUNREACH':
      return Reply.NetworkUnreachable;
    case 'EHOSTUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return Reply.HostUnreachable;
    case 'ETIMEDOUT':
      return Reply.TtlExpired;
    case 'EACCES':
    case 'EPERM':
      return Reply.NotAllowed;
    default:
      return Reply.GeneralFailure;
  }
}
