// The engine's monotonic clock in µs. performance.now() is cheaper than process.hrtime.bigint() and
// precise enough (µs fractions) for rates, latencies and token buckets.
import { performance } from 'node:perf_hooks';

export function monoUs(): number {
  return performance.now() * 1000;
}
