import type { Command } from 'commander';

// Placeholder until the capability lands; replaced by the owning module's command.
export function registerConnect(program: Command): void {
  program
    .command('connect')
    .description('(not yet implemented)')
    .action(() => {
      process.stderr.write('ccp-bt connect: not implemented yet\n');
      process.exitCode = 2;
    });
}
