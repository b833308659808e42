// tyrant's --set settings: documented defaults, clear errors naming the setting, never a crash.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Params } from '../../agent/api.js';
import { checkParams, readTyrantConfig, TYRANT_DEFAULTS } from '../../algorithms/tyrant.js';
import { compileForDatapath } from '../../datapath/control/compiled-program.js';
import { tyrantProgram } from '../../algorithms/tyrant.js';

describe('tyrant settings', () => {
  it('defaults are the documented ones', () => {
    const cfg = readTyrantConfig(new Params());
    expect(cfg.budgetBps).toBe(TYRANT_DEFAULTS.budget);
    expect(cfg.slots).toBe(TYRANT_DEFAULTS.slots);
    expect(cfg.trim).toBe(0.9);
    expect(cfg.raise).toBe(1.2);
    expect(cfg.roundMs).toBe(TYRANT_DEFAULTS.round);
  });

  it('units are read as rates and every bad value is named', () => {
    expect(readTyrantConfig(Params.parse(['budget=1.5M', 'start=10k'])).budgetBps).toBe(1_500_000);
    expect(() => checkParams(Params.parse(['trim=1.5']))).toThrow(/--set trim=1.5: must be between 0 and 1/);
    expect(() => checkParams(Params.parse(['raise=0.5']))).toThrow(/--set raise=0.5/);
    expect(() => checkParams(Params.parse(['budget=0']))).toThrow(/budget/);
    expect(() => checkParams(Params.parse(['slots=2', 'explore=2']))).toThrow(/explore=2 leaves no regular slot/);
    expect(() => checkParams(Params.parse(['budget=lots']))).toThrow(/budget/);
    expect(() => checkParams(Params.parse(['round=abc', 'min=0']))).toThrow(/min=0.*round=abc/);
    expect(() => checkParams(Params.parse(['trace=maybe']))).toThrow(/trace/);
  });

  it('random settings give a config or an Error, never anything else', () => {
    const keys = ['budget', 'slots', 'explore', 'start', 'min', 'max', 'trim', 'raise', 'trimAfter', 'round', 'report', 'peerSlots', 'seedTotal', 'seedSlots', 'trace'];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...keys), fc.string({ maxLength: 12 })), { maxLength: 6 }), (pairs) => {
        const params = new Params(new Map(pairs));
        try {
          checkParams(params);
          const cfg = readTyrantConfig(params);
          expect(cfg.budgetBps).toBeGreaterThan(0);
          expect(cfg.slots).toBeGreaterThan(cfg.explore);
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
          expect((err as Error).message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('its program compiles in the datapath at any report period, reporting what it needs', () => {
    for (const ms of [10, 1000, 60_000]) {
      const out = compileForDatapath(tyrantProgram(ms));
      expect(out.ok).toBe(true);
      if (out.ok) expect(out.compiled.reportVars).toEqual(['rate_in', 'rate_out', 'bytes_recv', 'bytes_sent', 'choking', 'interested', 'am_interested', 'pieces', 'seeding']);
    }
  });
});
