// Starts the world-peer host like bin/ccp-bt.cjs starts the CLI: from the bundle when fresh, else from
// the TypeScript sources under tsx.
'use strict';
const { pathToFileURL } = require('node:url');
const { join } = require('node:path');
const { launch } = require('../bin/launch.cjs');

launch('peer-host', pathToFileURL(join(__dirname, 'peer-host.ts')).href).catch((err) => {
  process.stderr.write(`peer-host: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
});
