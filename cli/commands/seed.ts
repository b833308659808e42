import type { Command } from 'commander';

// Placeholder until the capability lands; replaced by the owning module's command.
export function registerSeed(program: Command): void {
  program
    .command('seed')
    .description('(not yet implemented)')
    .action(() => {
      process.stderr.write('ccp-bt seed: not implemented yet\n');
      process.exitCode = 2;
    });
}
