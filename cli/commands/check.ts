import type { Command } from 'commander';

// Placeholder until the capability lands; replaced by the owning module's command.
export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('(not yet implemented)')
    .action(() => {
      process.stderr.write('ccp-bt check: not implemented yet\n');
      process.exitCode = 2;
    });
}
