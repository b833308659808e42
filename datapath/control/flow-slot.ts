// One flow as the control host sees it: the engine's flow, the program instance it runs (if any), and
// the controls last handed to the engine, so only changes cost an applyControls call.
import type { ControlledFlow, FlowControls } from '../flow/flow-api.js';
import type { CompiledProgram, ProgramInstance } from './compiled-program.js';
import { CONTROL_CHOKE, CONTROL_RATE, CONTROL_RATE_IN, CONTROL_WINDOW } from '../program/schema.js';

export class FlowSlot {
  readonly flow: ControlledFlow;
  readonly flowId: number;
  /** [Flow, Event, Torrent] banks as the program reads them; the Event slot is swapped per run. */
  readonly banks: Float64Array[];
  programId = 0;
  epoch = 0;
  compiled: CompiledProgram | null = null;
  inst: ProgramInstance | null = null;
  /** True while this host holds the flow's knobs (it called applyControls and not yet releaseControls). */
  controlled = false;
  /** What the engine was last told. */
  readonly applied: FlowControls = { rateBps: 0, choke: false, window: 0, rateInBps: 0 };
  private rawRate = 0;
  private rawRateIn = 0;
  private rawChoke = 0;
  private rawWindow = 0;

  constructor(flow: ControlledFlow, eventBank: Float64Array) {
    this.flow = flow;
    this.flowId = flow.info.flowId;
    this.banks = [flow.stats, eventBank, flow.torrentStats];
  }

  /** Runs the program on `event`; returns true when it reported. Caller checks `inst` first. */
  run(event: Float64Array): boolean {
    const compiled = this.compiled!;
    const inst = this.inst!;
    this.banks[1] = event;
    const reported = compiled.program.run(inst, this.banks);
    const regs = inst.regs;
    const rate = regs[compiled.rateIdx]!;
    const choke = regs[compiled.chokeIdx]!;
    const window = regs[compiled.windowIdx]!;
    const rateIn = regs[compiled.rateInIdx]!;
    // Compared raw (as the program wrote them), so an out-of-range value is not re-applied on every event.
    if (rate !== this.rawRate || choke !== this.rawChoke || window !== this.rawWindow || rateIn !== this.rawRateIn || !this.controlled) {
      this.apply(rate, choke, window, rateIn);
    }
    return reported;
  }

  /** Starts running `compiled` from a fresh instance; keeps the controls the flow had (then `fields` apply). */
  switchTo(programId: number, epoch: number, compiled: CompiledProgram): void {
    const inst = compiled.program.newInstance();
    if (this.controlled) {
      inst.regs[compiled.rateIdx] = this.applied.rateBps;
      inst.regs[compiled.chokeIdx] = this.applied.choke ? 1 : 0;
      inst.regs[compiled.windowIdx] = this.applied.window;
      inst.regs[compiled.rateInIdx] = this.applied.rateInBps;
    }
    this.programId = programId;
    this.epoch = epoch;
    this.compiled = compiled;
    this.inst = inst;
  }

  /** Sets a field by register index (program running) or a control by name (no program). */
  setField(name: string, regIndex: number, value: number): void {
    if (this.inst) {
      this.inst.regs[regIndex] = value;
      return;
    }
    const a = this.applied;
    const rate = name === CONTROL_RATE ? value : a.rateBps;
    const choke = name === CONTROL_CHOKE ? value : a.choke ? 1 : 0;
    const window = name === CONTROL_WINDOW ? value : a.window;
    const rateIn = name === CONTROL_RATE_IN ? value : a.rateInBps;
    this.apply(rate, choke, window, rateIn);
  }

  /** After fields were set: hand changed controls to the engine. */
  syncControls(): void {
    if (!this.inst || !this.compiled) return;
    const regs = this.inst.regs;
    const c = this.compiled;
    const rate = regs[c.rateIdx]!;
    const choke = regs[c.chokeIdx]!;
    const window = regs[c.windowIdx]!;
    const rateIn = regs[c.rateInIdx]!;
    if (rate !== this.rawRate || choke !== this.rawChoke || window !== this.rawWindow || rateIn !== this.rawRateIn || !this.controlled) {
      this.apply(rate, choke, window, rateIn);
    }
  }

  /** Drops the program and gives the knobs back to the standard policy. */
  release(): void {
    this.programId = 0;
    this.compiled = null;
    this.inst = null;
    if (!this.controlled) return;
    this.controlled = false;
    this.applied.rateBps = 0;
    this.applied.choke = false;
    this.applied.window = 0;
    this.applied.rateInBps = 0;
    this.rawRate = this.rawChoke = this.rawWindow = this.rawRateIn = 0;
    this.flow.releaseControls();
  }

  private apply(rate: number, choke: number, window: number, rateIn: number): void {
    this.rawRate = rate;
    this.rawRateIn = rateIn;
    this.rawChoke = choke;
    this.rawWindow = window;
    // A program may compute anything; the engine only ever sees sane knobs.
    const a = this.applied;
    a.rateBps = Number.isFinite(rate) && rate > 0 ? rate : 0;
    a.choke = choke !== 0 && !Number.isNaN(choke);
    a.window = Number.isFinite(window) && window > 0 ? Math.floor(window) : 0;
    a.rateInBps = Number.isFinite(rateIn) && rateIn > 0 ? rateIn : 0;
    this.controlled = true;
    this.flow.applyControls(a);
  }
}
