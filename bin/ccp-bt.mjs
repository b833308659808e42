#!/usr/bin/env node
// The `ccp-bt` command: runs the prebuilt bundle when fresh, else the TypeScript sources under tsx, so
// users and algorithm files need no build step (see bin/launch.mjs).
import { launch } from './launch.mjs';

await launch('main', new URL('../cli/main.ts', import.meta.url).href);
