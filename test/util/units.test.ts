import { describe, expect, it } from 'vitest';
import { parseBytes, parseHostPort, parseRate } from '../../util/units.js';

describe('units', () => {
  it('parses rates with units', () => {
    expect(parseRate('50k')).toBe(50_000);
    expect(parseRate('2M')).toBe(2_000_000);
    expect(parseRate('1MiB')).toBe(1_048_576);
    expect(parseRate('4096')).toBe(4096);
    expect(parseRate('1.5k')).toBe(1500);
    expect(parseRate('0')).toBe(0);
  });
  it('rejects bad rates with a message naming the input', () => {
    expect(() => parseRate('fast')).toThrow(/invalid rate 'fast'/);
    expect(() => parseRate('-5k')).toThrow(/invalid rate/);
    expect(() => parseBytes('5q', 'size')).toThrow(/unknown unit 'q'/);
  });
  it('parses host:port', () => {
    expect(parseHostPort('127.0.0.1:6881')).toEqual({ host: '127.0.0.1', port: 6881 });
    expect(parseHostPort('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(() => parseHostPort('nope')).toThrow(/HOST:PORT/);
    expect(() => parseHostPort('h:70000')).toThrow(/invalid port/);
  });
});
