// `ccp-bt world`: compare an algorithm with a baseline in a local swarm (see docs/world.md).
import type { Command } from 'commander';
import { runWorldCommand } from '../../world/world-command.js';

interface WorldFlags {
  config?: string;
  demo?: boolean;
  verbose?: boolean;
  json?: boolean;
  [key: string]: unknown;
}

const SETTINGS = [
  'peers', 'seeds', 'size', 'pieceLength', 'upload', 'stages', 'myUpload', 'alg', 'baseline', 'trials', 'seed', 'out',
  'worldAlg', 'set', 'baselineSet', 'worldSet', 'external', 'rebirthPause', 'warmup', 'timeout',
] as const;

const collect = (v: string, acc: string[] | undefined): string[] => [...(acc ?? []), v];

export function registerWorld(program: Command): void {
  program
    .command('world')
    .description('compare an algorithm against a baseline in a local swarm of standard peers')
    .option('--config <file>', 'world.json with the same settings (flags override it)')
    .option('--demo', 'a small default comparison (what npm start runs)')
    .option('--peers <n>', 'our own world peers (default 8)')
    .option('--seeds <k>', 'how many world peers start complete (default 2)')
    .option('--size <bytes>', 'content size, e.g. 4MiB (default 4MiB)')
    .option('--piece-length <bytes>', 'piece length, a power of two ≥ 16KiB (default 64KiB)')
    .option('--upload <dist>', 'world upload caps: uniform:A-B, fixed:X, choice:A,B,… (default uniform:50k-200k)')
    .option('--stages <dist>', 'world starting completion in [0,1): uniform:0-0.9, choice:0,0.5,… (default uniform:0-0.9)')
    .option('--my-upload <rate>', "my client's upload cap, bytes/s, 0 = none (default 100k)")
    .option('--alg <name|file.ts>', 'the algorithm under test (default aimd)')
    .option('--baseline <name|file.ts>', 'the algorithm it is compared with (default tft)')
    .option('--trials <k>', 'repeat both, alternating, a fresh world per trial (default 1)')
    .option('--seed <n>', 'random seed for the world; trial t uses seed+t (default 1)')
    .option('--out <dir>', 'where results.json, plot.svg and table.txt go (default ./world-out/<timestamp>)')
    .option('--world-alg <name|file.ts>', "run the world's own peers on this algorithm (in-process agent)")
    .option('--set <key=value>', 'a parameter for --alg (repeatable), as `connect --set`', collect)
    .option('--baseline-set <key=value>', 'a parameter for --baseline (repeatable)', collect)
    .option('--world-set <key=value>', 'a parameter for --world-alg (repeatable)', collect)
    .option('--external <client:k>', 'add real clients to the world, e.g. aria2:2')
    .option('--rebirth-pause <s>', 'seconds a finished world peer seeds before it is reborn (default 2)')
    .option('--warmup <s>', 'seconds the world runs before my client starts (default 1)')
    .option('--timeout <s>', 'seconds my client may take per run (default 180)')
    .option('--json', 'JSON lines instead of the live view and table')
    .option('--verbose', 'show the processes\' own messages')
    .action(async (opts: WorldFlags) => {
      const flags: Record<string, unknown> = {};
      for (const k of SETTINGS) if (opts[k] !== undefined) flags[k] = opts[k];
      if (opts.json) flags.json = true;
      process.exitCode = await runWorldCommand({ flags, configPath: opts.config, demo: opts.demo === true, verbose: opts.verbose === true });
    });
}
