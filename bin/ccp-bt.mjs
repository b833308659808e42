#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so users and algorithm files need no build step.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
