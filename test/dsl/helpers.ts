// A small host for tests: one input bank with two numbers, a flag and a clock; two controls.
import type { Schema } from '../../dsl/index.js';

export const TEST_SCHEMA: Schema = {
  banks: ['In'],
  inputs: [
    { name: 'In.a', type: 'number', bank: 0, slot: 0, doc: 'a number' },
    { name: 'In.b', type: 'number', bank: 0, slot: 1, doc: 'another number' },
    { name: 'In.flag', type: 'bool', bank: 0, slot: 2, doc: 'a flag' },
  ],
  controls: [
    { name: 'Out', type: 'number', initial: 5, doc: 'a numeric control' },
    { name: 'On', type: 'bool', initial: 0, doc: 'a boolean control' },
  ],
  clock: { name: 'T', bank: 0, slot: 3, doc: 'time since the last report' },
};

export interface TestEvent {
  a?: number;
  b?: number;
  flag?: boolean;
  now?: number;
}

export function bankOf(e: TestEvent): Float64Array {
  return Float64Array.of(e.a ?? 0, e.b ?? 0, e.flag ? 1 : 0, e.now ?? 0);
}
