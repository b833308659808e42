// One flow inside the agent: its algorithm instance, which program run is current (id + epoch, so stale
// reports are recognised), and what the algorithm asked for but has not been sent yet.
import type { FieldMap, FieldValueInput, FlowHandle, FlowInfo, Program } from './api.js';
import type { AnyAlgorithm } from './api.js';

/** What a flow's handle needs from its datapath session. */
export interface FlowOwner {
  installFor(entry: FlowEntry, program: string | Program, fields: FieldMap | undefined): void;
  releaseFor(entry: FlowEntry): void;
  markDirty(entry: FlowEntry): void;
}

export class FlowEntry implements FlowHandle {
  alg: AnyAlgorithm | null = null;
  /** The program run the algorithm asked for last (0 = none). Reports of any other run are stale. */
  programId = 0;
  epoch = 0;
  /** A switch waiting to be sent (its program may still be compiling); later field updates join it. */
  pendingSwitch: { programId: number; epoch: number; fields: Map<string, number> } | null = null;
  /** Field updates waiting for the end of this turn. */
  pendingUpdates: Map<string, number> | null = null;
  /** The algorithm threw (or the datapath refused it): it gets no more calls; the flow is released. */
  failed = false;
  dirty = false;

  constructor(
    readonly info: FlowInfo,
    private readonly owner: FlowOwner,
  ) {}

  /** "flow 3 (127.0.0.1:6881 on seed-42)" for logs. */
  get label(): string {
    return `flow ${this.info.flowId} (${this.info.peerAddress} on ${this.info.datapath})`;
  }

  install(program: string | Program, fields?: FieldMap): void {
    if (this.failed) return;
    this.owner.installFor(this, program, fields);
  }

  updateField(name: string, value: FieldValueInput): void {
    if (this.failed) return;
    const v = toWire(name, value);
    const target = this.pendingSwitch ? this.pendingSwitch.fields : (this.pendingUpdates ??= new Map());
    target.set(name, v);
    this.owner.markDirty(this);
  }

  updateFields(fields: FieldMap): void {
    if (fields === null || typeof fields !== 'object') throw new TypeError('updateFields: expected an object of name → value');
    for (const [name, value] of Object.entries(fields)) this.updateField(name, value);
  }

  release(): void {
    this.owner.releaseFor(this);
  }
}

/** Validates a field value in the algorithm's own call, so its mistake shows where it was made. */
export function toWire(name: string, value: FieldValueInput): number {
  if (typeof name !== 'string' || name === '') throw new TypeError('field name must be non-empty text');
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`field ${name}: ${String(value)} is not a finite number`);
  return value;
}
