// V8 settings every ccp-bt process runs with (bin/launch.cjs applies them once the program's modules
// have loaded; bench/leech-inproc.ts too, to run as a ccp-bt process does). Plain CommonJS: it runs
// before anything can compile TypeScript.
'use strict';
const { setFlagsFromString } = require('node:v8');

/**
 * V8 optimizes a function once it has run ~67 KB of bytecode (its default interrupt budget), so a short
 * transfer compiles dozens of functions with TurboFan, on another thread but billed to the process
 * (~0.09 s in a 256 MiB download), and some of them twice after a deopt. Waiting 62× longer leaves only
 * the really hot ones to optimize: 8 leechers of 64 MiB, a process each, took ~18 % less CPU (2.9 → 2.35 s,
 * alternating runs); a 256 MiB transfer and a long-running seeder were the same or better within noise.
 */
const INTERRUPT_BUDGET = 4 * 1024 * 1024;

/**
 * Applies the settings. Call once the program's modules are loaded: after any V8 flag changes, V8
 * refuses Node's code cache for the built-in modules loaded later, and compiling them costs ~16 ms.
 */
function tuneV8() {
  setFlagsFromString(`--interrupt-budget=${INTERRUPT_BUDGET}`);
}

exports.INTERRUPT_BUDGET = INTERRUPT_BUDGET;
exports.tuneV8 = tuneV8;
