import type { Command } from 'commander';

// Placeholder until the capability lands; replaced by the owning module's command.
export function registerDownload(program: Command): void {
  program
    .command('download')
    .description('(not yet implemented)')
    .action(() => {
      process.stderr.write('ccp-bt download: not implemented yet\n');
      process.exitCode = 2;
    });
}
