// `ccp-bt shape`: the shaping proxy in front of any BitTorrent client (see docs/cli/shape.md).
import type { Command } from 'commander';
import { addControlOptions, startControl, type ControlOptions } from '../control-options.js';
import { formatBytes, parseHostPort, parseRate } from '../../util/units.js';
import { ShapingProxy, type ForwardSpec } from '../../shape/proxy.js';
import { parseForwardSpec } from '../../shape/forward-spec.js';

interface ShapeCliOptions extends ControlOptions {
  listen: string;
  socks: boolean;
  forward: string[];
  user?: string;
  password?: string;
  maxUp: string;
  maxDown: string;
  ratePerPeer: string;
  downPerPeer: string;
  connectTimeout: string;
  idleTimeout: string;
  maxConnections: string;
  statsInterval: string;
  quiet?: boolean;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function seconds(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`invalid ${what} '${text}': expected a positive number of seconds`);
  return n;
}

export function registerShape(program: Command): void {
  const cmd = program
    .command('shape')
    .description('Shaping proxy for any BitTorrent client: SOCKS5 for outgoing peer connections, forward ports for incoming ones; per-peer and total caps, steerable by an agent')
    .option('--listen <host:port>', 'SOCKS5 listen address', '127.0.0.1:1080')
    .option('--no-socks', 'no SOCKS5 listener (forward ports only)')
    .option('--forward <spec>', 'incoming peers: [LISTEN_HOST:]PUBLIC_PORT:CLIENT_HOST:CLIENT_PORT (repeatable)', collect, [])
    .option('--user <name>', 'require SOCKS5 username/password authentication with this user')
    .option('--password <password>', 'the password for --user')
    .option('--max-up <rate>', 'total upload cap, bytes/s (50k, 2M; 0 = none)', '0')
    .option('--max-down <rate>', 'total download cap, bytes/s (0 = none)', '0')
    .option('--rate-per-peer <rate>', 'upload cap per peer connection while no agent steers it (0 = none)', '0')
    .option('--down-per-peer <rate>', 'download cap per peer connection while no agent sets RateIn (0 = none)', '0')
    .option('--connect-timeout <s>', 'seconds to reach a target or the client', '10')
    .option('--idle-timeout <s>', 'close tunnels silent for this long', '300')
    .option('--max-connections <n>', 'tunnels open at once', '1000')
    .option('--stats-interval <s>', 'print totals every s seconds (0 = never)', '0')
    .option('-q, --quiet', 'log only errors');
  addControlOptions(cmd);
  cmd.action(async (opts: ShapeCliOptions) => {
    try {
      const listen = parseHostPort(opts.listen);
      if ((opts.user === undefined) !== (opts.password === undefined)) throw new Error('--user and --password go together');
      if (opts.user !== undefined && (Buffer.byteLength(opts.user) > 255 || Buffer.byteLength(opts.password!) > 255)) {
        throw new Error('--user and --password are limited to 255 bytes each (RFC 1929)');
      }
      const forwards: ForwardSpec[] = opts.forward.map((f) => parseForwardSpec(f, listen.host));
      if (!opts.socks && forwards.length === 0) throw new Error('nothing to do: --no-socks and no --forward');
      const maxConnections = Number(opts.maxConnections);
      if (!Number.isInteger(maxConnections) || maxConnections < 1) throw new Error(`invalid --max-connections '${opts.maxConnections}'`);
      const statsSeconds = Number(opts.statsInterval);
      if (!Number.isFinite(statsSeconds) || statsSeconds < 0) throw new Error(`invalid --stats-interval '${opts.statsInterval}'`);
      const quiet = opts.quiet === true;
      const proxy = await ShapingProxy.start({
        socks: opts.socks ? listen : null,
        forwards,
        credentials: opts.user !== undefined ? { user: opts.user, password: opts.password! } : undefined,
        maxUpBps: parseRate(opts.maxUp),
        maxDownBps: parseRate(opts.maxDown),
        ratePerPeerBps: parseRate(opts.ratePerPeer),
        downPerPeerBps: parseRate(opts.downPerPeer),
        connectTimeoutMs: seconds(opts.connectTimeout, '--connect-timeout') * 1000,
        handshakeTimeoutMs: seconds(opts.connectTimeout, '--connect-timeout') * 1000 + 5000,
        idleTimeoutMs: seconds(opts.idleTimeout, '--idle-timeout') * 1000,
        maxConnections,
        log: quiet ? () => {} : (line) => process.stderr.write(`shape: ${line}\n`),
      });
      const parts: string[] = [];
      const s = proxy.socksAddress;
      if (s) parts.push(`SOCKS5 on ${s.host}:${s.port}${opts.user !== undefined ? ' (username/password)' : ''}`);
      proxy.forwardAddresses.forEach((a, i) => parts.push(`forward ${a.host}:${a.port} -> ${forwards[i]!.clientHost}:${forwards[i]!.clientPort}`));
      // One line on stdout when ready: scripts and tests read the ports from it.
      process.stdout.write(`shape: ready: ${parts.join('; ')}\n`);

      const detach = await startControl(proxy, opts, 'shape');
      let statsTimer: NodeJS.Timeout | null = null;
      if (statsSeconds > 0) {
        let lastUp = 0;
        let lastDown = 0;
        statsTimer = setInterval(() => {
          let up = proxy.totals.payloadUp;
          let down = proxy.totals.payloadDown;
          for (const f of proxy.allFlows()) {
            up += f.up.payloadForwarded;
            down += f.down.payloadForwarded;
          }
          // Human rates, then cumulative payload bytes with a monotonic timestamp for scripts.
          process.stderr.write(
            `shape: stats: ${proxy.allFlows().length} tunnels, up ${formatBytes((up - lastUp) / statsSeconds)}/s, down ${formatBytes((down - lastDown) / statsSeconds)}/s; t_ms=${Math.round(performance.now())} payload_up=${up} payload_down=${down}\n`,
          );
          lastUp = up;
          lastDown = down;
        }, statsSeconds * 1000);
      }
      await new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      if (statsTimer) clearInterval(statsTimer);
      await detach();
      await proxy.close();
    } catch (err) {
      process.stderr.write(`ccp-bt shape: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 2;
    }
  });
}
