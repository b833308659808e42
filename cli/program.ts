// Builds the `ccp-bt` program from command modules and runs it: parse errors and failures become a
// message and an exit code, never a stack trace. cli/main.ts runs it with every command; the prebuilt
// bundle also has one entry per command (scripts/bundle-cli.mjs) that holds only that command's code.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { packagePath } from '../util/package-root.js';

/** Adds one subcommand to the program. */
export type Register = (program: Command) => void;
/** Loads a command module when it is the one asked for (or for the full --help listing). */
export type CommandLoaders = Record<string, () => Promise<Register>>;

export async function buildProgram(commands: CommandLoaders, argv: readonly string[] = process.argv): Promise<Command> {
  const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string };
  const program = new Command('ccp-bt')
    .description('A CCP-style control plane for BitTorrent: a measuring datapath steered by TypeScript algorithms')
    .version(pkg.version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)');
  const asked = argv[2];
  const names = asked !== undefined && asked in commands ? [asked] : Object.keys(commands);
  for (const name of names) (await commands[name]!())(program);
  return program;
}

/**
 * Output whose reader went away (`ccp-bt download x | head`) is dropped, not a crash: Node turns the
 * broken pipe into an 'error' event on the stream, which nothing else listens to. The command goes on
 * (a download keeps its data) and simply stops printing there.
 */
export function tolerateClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      stream.write = (() => true) as typeof stream.write;
    });
  }
}

export async function runCli(commands: CommandLoaders, argv: readonly string[] = process.argv): Promise<void> {
  tolerateClosedOutput();
  try {
    const program = await buildProgram(commands, argv);
    program.exitOverride();
    await program.parseAsync(argv as string[]);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`ccp-bt: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  }
}
