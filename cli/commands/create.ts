import type { Command } from 'commander';

// Placeholder until the capability lands; replaced by the owning module's command.
export function registerCreate(program: Command): void {
  program
    .command('create')
    .description('(not yet implemented)')
    .action(() => {
      process.stderr.write('ccp-bt create: not implemented yet\n');
      process.exitCode = 2;
    });
}
