import type { Command } from 'commander';

// Placeholder until the capability lands; replaced by the owning module's command.
export function registerTracker(program: Command): void {
  program
    .command('tracker')
    .description('(not yet implemented)')
    .action(() => {
      process.stderr.write('ccp-bt tracker: not implemented yet\n');
      process.exitCode = 2;
    });
}
