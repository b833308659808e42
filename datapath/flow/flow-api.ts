// The seam between the BitTorrent engine (which owns connections) and whatever steers them: the
// standard policy, or the control plane running programs for an agent. The engine (and the shaping
// proxy) implement ControlledFlow and report to a FlowEventSink; datapath/control implements the sink.

/** What a flow is, as told to an agent. */
export interface FlowInfo {
  readonly flowId: number; // unique within one datapath process, never reused
  readonly infoHash: Buffer; // 20 bytes; zeros while unknown (proxy before the handshake)
  readonly peerHost: string;
  readonly peerPort: number;
  readonly peerId: Buffer; // 20 bytes; zeros while unknown
  readonly pieceLength: number;
  readonly pieceCount: number;
  readonly totalBytes: number;
}

/**
 * The knobs. `rateBps` (upload) and `rateInBps` (download payload from this peer) 0 = no cap;
 * `window` 0 = the engine's automatic request window.
 */
export interface FlowControls {
  rateBps: number;
  rateInBps: number;
  choke: boolean;
  window: number;
}

export interface ControlledFlow {
  readonly info: FlowInfo;
  /** The Flow bank (see datapath/program/schema.ts FLOW), kept current by the engine. */
  readonly stats: Float64Array;
  /** The Torrent bank of this flow's torrent, shared by its flows. */
  readonly torrentStats: Float64Array;
  /**
   * Take the knobs away from the standard policy and set them. Choke changes send choke/unchoke;
   * rate changes take effect on the next block; rateIn paces our requests (the proxy: the
   * bytes it forwards down); window bounds our requests in flight.
   */
  applyControls(c: Readonly<FlowControls>): void;
  /** Hand the knobs back to the standard policy (agent gone, program failed). */
  releaseControls(): void;
  /** True while something other than the standard policy holds the knobs. */
  readonly externallyControlled: boolean;
}

/**
 * Receives flow lifecycle and per-event calls from an engine. `event` is the shared Event bank
 * (datapath/program/schema.ts EVENT), valid only during the call: copy what you keep.
 */
export interface FlowEventSink {
  flowOpened(flow: ControlledFlow): void;
  flowEvent(flow: ControlledFlow, event: Float64Array): void;
  flowClosed(flow: ControlledFlow, reason: string): void;
}

/** Something that owns flows: the engine's session, the shaping proxy. The control plane attaches here. */
export interface FlowSource {
  /** Route flow lifecycle and events to `sink` (null: detach; the standard policy keeps running). */
  setFlowSink(sink: FlowEventSink | null): void;
  /** Every flow currently open (for telling a newly attached agent about them). */
  liveFlows(): Iterable<ControlledFlow>;
}
