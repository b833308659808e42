// The control-plane options of a datapath command (download, seed, shape): `--ipc unix` lets an agent
// attach over Unix datagrams; `--alg NAME` runs an agent inside this process. What they do is
// control-plane/start-control.ts.
import type { Command } from 'commander';
import { DEFAULT_HEARTBEAT_MS } from '../protocol/handshake.js';

export { startControl, type ControlOptions } from '../control-plane/start-control.js';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Adds the control-plane options to a datapath command (download, seed, shape). */
export function addControlOptions(cmd: Command): Command {
  return cmd
    .option('--ipc <kind>', "accept an agent over 'unix' datagram sockets (ccp-bt connect)")
    .option('--alg <name|file.ts>', 'run this algorithm in an agent inside this process')
    .option('--set <key=value>', 'algorithm parameter for --alg (repeatable)', collect, [])
    .option('--socket-dir <dir>', 'socket directory for --ipc unix (default: per-user, 0700)')
    .option('--agent-socket <path>', 'the agent socket for --ipc unix (default <socket-dir>/agent.sock)')
    .option('--heartbeat <ms>', 'heartbeat of the in-process agent (--alg), ms', String(DEFAULT_HEARTBEAT_MS))
    .option('--agent-timeout <ms>', 'agent silence before flows return to the standard policy, ms (default 3 × heartbeat)')
    .option('--tick <ms>', 'period of the program tick that lets quiet flows report, ms', '100');
}
