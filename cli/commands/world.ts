import type { Command } from 'commander';

// Placeholder until the capability lands; replaced by the owning module's command.
export function registerWorld(program: Command): void {
  program
    .command('world')
    .description('(not yet implemented)')
    .action(() => {
      process.stderr.write('ccp-bt world: not implemented yet\n');
      process.exitCode = 2;
    });
}
