// `ccp-bt connect --ipc unix --alg NAME|./file.ts [--set key=value…]`: the agent. Listens on a Unix
// datagram socket, steers every datapath that attaches, runs until SIGINT/SIGTERM (then says Goodbye,
// so every flow returns to the standard policy at once).
import type { Command } from 'commander';
import { Agent, DEFAULT_HEARTBEAT_MS } from '../../agent/agent.js';
import { Params } from '../../agent/params.js';
import { checkAlgorithmParams, loadAlgorithm } from '../../agent/load-algorithm.js';
import { BUILTIN_ALGORITHMS } from '../../algorithms/index.js';
import { listenAgent } from '../../protocol/unix-transport.js';

interface ConnectFlags {
  ipc: string;
  alg?: string;
  set: string[];
  socketDir?: string;
  agentSocket?: string;
  heartbeat: string;
  list?: boolean;
  stats?: string;
}

const collect = (v: string, acc: string[]): string[] => [...acc, v];

function listAlgorithms(): string {
  const lines = ['built-in algorithms (--alg NAME; or --alg ./file.ts):'];
  for (const [name, mod] of Object.entries(BUILTIN_ALGORITHMS)) lines.push(`  ${name.padEnd(8)} ${mod.describe ?? ''}`);
  return lines.join('\n');
}

export function registerConnect(program: Command): void {
  program
    .command('connect')
    .description('run an agent: steer the flows of every datapath that attaches with an algorithm')
    .option('--ipc <kind>', "transport to the datapaths: 'unix' (datagram sockets)", 'unix')
    .option('--alg <name|file.ts>', 'algorithm: a built-in name (see --list) or a .ts file exporting an Algorithm class')
    .option('--set <key=value>', 'algorithm parameter (repeatable), e.g. --set rate=50k', collect, [])
    .option('--socket-dir <dir>', 'socket directory (default: per-user, created 0700)')
    .option('--agent-socket <path>', 'the socket to listen on (default <socket-dir>/agent.sock)')
    .option('--heartbeat <ms>', 'heartbeat period; a datapath falls back after 3 missed', String(DEFAULT_HEARTBEAT_MS))
    .option('--stats <ms>', 'print flow/report counters every MS (0 = never)', '0')
    .option('--list', 'list the built-in algorithms and exit')
    .action(async (flags: ConnectFlags) => {
      if (flags.list) {
        process.stdout.write(`${listAlgorithms()}\n`);
        return;
      }
      if (flags.ipc !== 'unix') throw new Error(`invalid --ipc '${flags.ipc}': the agent listens on 'unix' datagram sockets`);
      if (flags.alg === undefined) throw new Error(`--alg is required\n${listAlgorithms()}`);
      const heartbeatMs = Number(flags.heartbeat);
      if (!Number.isFinite(heartbeatMs) || heartbeatMs < 1 || heartbeatMs > 60_000) throw new Error(`invalid --heartbeat '${flags.heartbeat}': expected 1..60000 ms`);
      const statsMs = Number(flags.stats ?? 0);
      if (!Number.isFinite(statsMs) || statsMs < 0) throw new Error(`invalid --stats '${flags.stats}': expected ms ≥ 0`);

      const mod = await loadAlgorithm(flags.alg);
      const params = Params.parse(flags.set);
      checkAlgorithmParams(mod, params, flags.alg);
      if (mod.checkParams) {
        for (const key of params.unread()) process.stderr.write(`ccp-bt connect: warning: --set ${key} is not a parameter of ${flags.alg}\n`);
      }

      const log = (line: string): void => void process.stderr.write(`agent: ${line}\n`);
      // Algorithm code may throw from its own timers, outside any hook the agent guards: log, keep running.
      process.on('uncaughtException', (err) => log(`uncaught exception (algorithm code?): ${err.stack ?? err.message}`));
      process.on('unhandledRejection', (err) => log(`unhandled rejection (algorithm code?): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));

      const server = await listenAgent({
        ...(flags.socketDir !== undefined ? { dir: flags.socketDir } : {}),
        ...(flags.agentSocket !== undefined ? { path: flags.agentSocket } : {}),
        name: flags.alg,
      });
      const agent = new Agent(server, mod, { params, heartbeatMs, name: flags.alg, log });
      log(`listening on ${server.address} with algorithm ${flags.alg} (heartbeat ${heartbeatMs} ms)`);

      // Keeps the process alive and, on request, shows what flows through.
      const statsTimer = setInterval(() => {
        if (statsMs <= 0) return;
        const s = agent.stats;
        log(`datapaths ${agent.attachedDatapaths.length}, flows ${agent.flowCount}, reports ${s.reports}, stale ${s.staleReports}, errors ${s.errors}, algorithm failures ${s.algorithmFailures}`);
      }, statsMs > 0 ? statsMs : 60_000);

      await new Promise<void>((done) => {
        let stopping = false;
        const stop = (signal: string): void => {
          if (stopping) return;
          stopping = true;
          log(`${signal}: saying goodbye to ${agent.attachedDatapaths.length} datapath(s)`);
          agent.close(`agent stopped (${signal})`);
          clearInterval(statsTimer);
          // The Goodbyes leave at the end of this tick; then the socket closes.
          setTimeout(() => {
            server.close().then(done, done);
          }, 20);
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
    });
}
