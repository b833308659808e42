// One monotonic clock for the control plane: program timers (Micros), reports and the agent watchdog
// all read it, so their differences are meaningful.
import { performance } from 'node:perf_hooks';

/** Monotonic microseconds since this process started (fractional). */
export function nowUs(): number {
  return performance.now() * 1000;
}

/** Monotonic milliseconds since this process started. */
export function nowMs(): number {
  return performance.now();
}
