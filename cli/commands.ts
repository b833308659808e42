// Every `ccp-bt` subcommand, each in cli/commands/<name>.ts, loaded only when it is the one asked for,
// so `ccp-bt seed` never pays for the world harness or the shaping proxy.
import type { CommandLoaders } from './program.js';

export const COMMANDS: CommandLoaders = {
  check: async () => (await import('./commands/check.js')).registerCheck,
  create: async () => (await import('./commands/create.js')).registerCreate,
  download: async () => (await import('./commands/download.js')).registerDownload,
  seed: async () => (await import('./commands/seed.js')).registerSeed,
  connect: async () => (await import('./commands/connect.js')).registerConnect,
  tracker: async () => (await import('./commands/tracker.js')).registerTracker,
  world: async () => (await import('./commands/world.js')).registerWorld,
  shape: async () => (await import('./commands/shape.js')).registerShape,
};
