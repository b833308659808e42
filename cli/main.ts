// The `ccp-bt` command: each subcommand lives in cli/commands/<name>.ts and registers itself here.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { packagePath } from '../util/package-root.js';

// Each command module is loaded only when it is the one asked for (or for the full --help listing), so
// `ccp-bt seed` never pays for the world harness or the shaping proxy.
type Register = (program: Command) => void;
const COMMANDS: Record<string, () => Promise<Register>> = {
  check: async () => (await import('./commands/check.js')).registerCheck,
  create: async () => (await import('./commands/create.js')).registerCreate,
  download: async () => (await import('./commands/download.js')).registerDownload,
  seed: async () => (await import('./commands/seed.js')).registerSeed,
  connect: async () => (await import('./commands/connect.js')).registerConnect,
  tracker: async () => (await import('./commands/tracker.js')).registerTracker,
  world: async () => (await import('./commands/world.js')).registerWorld,
  shape: async () => (await import('./commands/shape.js')).registerShape,
};

const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string };

export async function buildProgram(argv: readonly string[] = process.argv): Promise<Command> {
  const program = new Command('ccp-bt')
    .description('A CCP-style control plane for BitTorrent: a measuring datapath steered by TypeScript algorithms')
    .version(pkg.version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)');
  const asked = argv[2];
  const names = asked !== undefined && asked in COMMANDS ? [asked] : Object.keys(COMMANDS);
  for (const name of names) (await COMMANDS[name]!())(program);
  return program;
}

const program = await buildProgram();
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
