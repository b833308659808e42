// The `ccp-bt` command: each subcommand lives in cli/commands/<name>.ts and registers itself here.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { registerCheck } from './commands/check.js';
import { registerCreate } from './commands/create.js';
import { registerDownload } from './commands/download.js';
import { registerSeed } from './commands/seed.js';
import { registerConnect } from './commands/connect.js';
import { registerTracker } from './commands/tracker.js';
import { registerWorld } from './commands/world.js';
import { registerShape } from './commands/shape.js';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(readFileSync(join(here, '..', 'package.json'), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('ccp-bt')
    .description('A CCP-style control plane for BitTorrent: a measuring datapath steered by TypeScript algorithms')
    .version(pkg.version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)');
  registerCheck(program);
  registerCreate(program);
  registerDownload(program);
  registerSeed(program);
  registerConnect(program);
  registerTracker(program);
  registerWorld(program);
  registerShape(program);
  return program;
}

const program = buildProgram();
program.exitOverride();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`ccp-bt: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
