// Types for v8-tuning.cjs (plain JavaScript, imported by bench/leech-inproc.ts).
export declare const INTERRUPT_BUDGET: number;
export declare function tuneV8(): void;
