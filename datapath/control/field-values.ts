// Checks a value an agent wants to put into a field, before it reaches a flow or a program.
import { CONTROL_CHOKE, CONTROL_RATE, CONTROL_RATE_IN, CONTROL_WINDOW } from '../program/schema.js';

/** Upper bounds that keep a mistaken value from meaning "effectively infinite" by accident. */
export const MAX_RATE_BPS = 1e12;
export const MAX_WINDOW = 1_000_000;

/** Returns a problem description, or null when `value` is acceptable for `name`. */
export function checkFieldValue(name: string, value: number): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return `${name}: ${String(value)} is not a finite number`;
  switch (name) {
    case CONTROL_RATE:
      if (value < 0) return `Rate: ${value} is negative (bytes/s; 0 means no cap)`;
      if (value > MAX_RATE_BPS) return `Rate: ${value} is above ${MAX_RATE_BPS} bytes/s`;
      return null;
    case CONTROL_RATE_IN:
      if (value < 0) return `RateIn: ${value} is negative (bytes/s; 0 means no cap)`;
      if (value > MAX_RATE_BPS) return `RateIn: ${value} is above ${MAX_RATE_BPS} bytes/s`;
      return null;
    case CONTROL_WINDOW:
      if (value < 0 || !Number.isInteger(value)) return `Window: ${value} is not a whole number ≥ 0`;
      if (value > MAX_WINDOW) return `Window: ${value} is above ${MAX_WINDOW}`;
      return null;
    case CONTROL_CHOKE:
      if (value !== 0 && value !== 1) return `Choke: ${value} is not 0 or 1`;
      return null;
    default:
      return null;
  }
}

export function isControlName(name: string): boolean {
  return name === CONTROL_RATE || name === CONTROL_CHOKE || name === CONTROL_WINDOW || name === CONTROL_RATE_IN;
}
