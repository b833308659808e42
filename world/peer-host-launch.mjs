// Starts the world-peer host like bin/ccp-bt.mjs starts the CLI: from the bundle when fresh, else from
// the TypeScript sources under tsx.
import { launch } from '../bin/launch.mjs';

await launch('peer-host', new URL('./peer-host.ts', import.meta.url).href);
