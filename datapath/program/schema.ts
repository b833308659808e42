// The datapath's contract with programs: every name a program may read or set, and where the
// datapath keeps its value. The names are the product's API (../../docs/dsl.md); keep them stable.
import type { Schema, InputDecl, ValueType } from '../../dsl/schema.js';

export const BANK_FLOW = 0;
export const BANK_EVENT = 1;
export const BANK_TORRENT = 2;

/** Per-flow measurements, one Float64Array per flow (booleans as 0/1). Slot = index in this list. */
export const FLOW_FIELDS = [
  ['bytes_sent', 'number', 'payload bytes uploaded to this peer, cumulative'],
  ['bytes_recv', 'number', 'payload bytes downloaded from this peer, cumulative'],
  ['rate_out', 'number', 'smoothed upload payload rate to this peer, bytes/s'],
  ['rate_in', 'number', 'smoothed download payload rate from this peer, bytes/s'],
  ['rtt_us', 'number', 'smoothed request→block latency, µs'],
  ['queue_bytes', 'number', 'bytes accepted for the socket but not yet written'],
  ['peer_requests', 'number', "the peer's requests waiting with us"],
  ['outstanding', 'number', 'our requests in flight to this peer'],
  ['peer_choking', 'bool', 'the peer chokes us'],
  ['peer_interested', 'bool', 'the peer is interested in us'],
  ['am_choking', 'bool', 'we choke the peer'],
  ['am_interested', 'bool', 'we are interested in the peer'],
  ['snubbed', 'bool', 'the peer sent us nothing for a while although we asked'],
  ['peer_pieces', 'number', 'pieces the peer has'],
  ['age_us', 'number', 'time since the connection was established, µs'],
] as const satisfies readonly (readonly [string, ValueType, string])[];

/** What just happened; one shared array, rewritten before each program run. */
export const EVENT_FIELDS = [
  ['sent', 'number', 'payload bytes uploaded in this event'],
  ['recv', 'number', 'payload bytes downloaded in this event'],
  ['latency_us', 'number', 'request→block latency sample of the block received, else 0'],
  ['requested', 'number', 'requests received from the peer in this event'],
  ['state_change', 'bool', 'a choke or interest flag changed in this event'],
  ['tick', 'bool', 'true on a periodic timer tick'],
  ['now_us', 'number', 'monotonic clock, µs (read through Micros)'],
] as const satisfies readonly (readonly [string, ValueType, string])[];

/** Swarm totals of the flow's torrent, one array per torrent. */
export const TORRENT_FIELDS = [
  ['rate_out', 'number', 'upload payload rate of the torrent, bytes/s'],
  ['rate_in', 'number', 'download payload rate of the torrent, bytes/s'],
  ['peers', 'number', 'connected peers'],
  ['unchoked', 'number', 'peers we currently unchoke'],
  ['left_bytes', 'number', 'bytes we still need'],
  ['seeding', 'bool', 'we have every piece'],
] as const satisfies readonly (readonly [string, ValueType, string])[];

type FieldName<T extends readonly (readonly [string, ValueType, string])[]> = T[number][0];
function slots<T extends readonly (readonly [string, ValueType, string])[]>(fields: T): Record<FieldName<T>, number> {
  const out: Record<string, number> = {};
  fields.forEach(([name], i) => (out[name] = i));
  return out as Record<FieldName<T>, number>;
}

/** Slot indexes, e.g. `stats[FLOW.rate_out]`. */
export const FLOW = slots(FLOW_FIELDS);
export const EVENT = slots(EVENT_FIELDS);
export const TORRENT = slots(TORRENT_FIELDS);

export const FLOW_BANK_SIZE = FLOW_FIELDS.length;
export const EVENT_BANK_SIZE = EVENT_FIELDS.length;
export const TORRENT_BANK_SIZE = TORRENT_FIELDS.length;

function inputs(prefix: string, bank: number, fields: readonly (readonly [string, ValueType, string])[]): InputDecl[] {
  return fields
    .map(([name, type, doc], slot) => ({ name: `${prefix}.${name}`, type, bank, slot, doc }))
    .filter((d) => d.name !== 'Event.now_us'); // only visible through Micros
}

/** Control fields a program and the agent may set. */
export const CONTROL_RATE = 'Rate';
export const CONTROL_CHOKE = 'Choke';
export const CONTROL_WINDOW = 'Window';
export const CONTROL_RATE_IN = 'RateIn';

export const DATAPATH_SCHEMA: Schema = {
  banks: ['Flow', 'Event', 'Torrent'],
  inputs: [
    ...inputs('Flow', BANK_FLOW, FLOW_FIELDS),
    ...inputs('Event', BANK_EVENT, EVENT_FIELDS),
    ...inputs('Torrent', BANK_TORRENT, TORRENT_FIELDS),
  ],
  controls: [
    { name: CONTROL_RATE, type: 'number', initial: 0, doc: 'upload cap for this peer, bytes/s (0 = no cap)' },
    { name: CONTROL_CHOKE, type: 'bool', initial: 0, doc: 'choke this peer (sends choke/unchoke when it changes)' },
    { name: CONTROL_WINDOW, type: 'number', initial: 0, doc: 'requests we keep in flight to this peer (0 = automatic)' },
    { name: CONTROL_RATE_IN, type: 'number', initial: 0, doc: 'download cap from this peer, payload bytes/s (0 = no cap)' },
  ],
  clock: { name: 'Micros', bank: BANK_EVENT, slot: EVENT.now_us, doc: 'µs since the last report; reset by (report), assignable' },
};
