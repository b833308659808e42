// The `ccp-bt` command: each subcommand lives in cli/commands/<name>.ts (listed in cli/commands.ts).
import { COMMANDS } from './commands.js';
import { runCli } from './program.js';

// Not a top-level await: the prebuilt bundle is CommonJS (scripts/bundle-cli.mjs).
void runCli(COMMANDS);
