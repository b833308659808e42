import type { Command } from 'commander';

// Placeholder until the capability lands; replaced by the owning module's command.
export function registerShape(program: Command): void {
  program
    .command('shape')
    .description('(not yet implemented)')
    .action(() => {
      process.stderr.write('ccp-bt shape: not implemented yet\n');
      process.exitCode = 2;
    });
}
