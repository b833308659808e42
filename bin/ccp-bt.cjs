#!/usr/bin/env node
// The `ccp-bt` command: runs the prebuilt bundle when fresh, else the TypeScript sources under tsx, so
// users and algorithm files need no build step (see bin/launch.cjs).
'use strict';
const { pathToFileURL } = require('node:url');
const { join } = require('node:path');
const { launch } = require('./launch.cjs');

launch('main', pathToFileURL(join(__dirname, '..', 'cli', 'main.ts')).href).catch((err) => {
  process.stderr.write(`ccp-bt: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
});
