// Filling the shared Event bank before a flow event goes to the sink; one place for the engine and the
// shaping proxy, so both hand programs the same event.
import { EVENT } from '../program/schema.js';

export function writeEvent(e: Float64Array, sent: number, recv: number, latencyUs: number, requested: number, stateChange: number, nowUs: number): void {
  e[EVENT.sent] = sent;
  e[EVENT.recv] = recv;
  e[EVENT.latency_us] = latencyUs;
  e[EVENT.requested] = requested;
  e[EVENT.state_change] = stateChange;
  e[EVENT.tick] = 0;
  e[EVENT.now_us] = nowUs;
}
