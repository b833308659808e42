// Starts the world-peer host under tsx (like bin/ccp-bt.mjs), so it runs from the TypeScript sources.
import { register } from 'tsx/esm/api';

register();
await import('./peer-host.ts');
