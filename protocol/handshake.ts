// The rules of attachment both sides follow (docs/protocol.md, "Handshake and heartbeat"): helpers
// so that the datapath's control host and the agent agree on them without re-deriving numbers.
import { ErrorCode, MsgType, PROTOCOL_VERSION, type ErrorMsg, type HelloMsg, type ReadyMsg } from './messages.js';

/** How often an agent sends Heartbeat unless configured otherwise. */
export const DEFAULT_HEARTBEAT_MS = 500;
/** A datapath that hears nothing for this many heartbeat periods falls back to its standard policy. */
export const FALLBACK_AFTER_HEARTBEATS = 3;
/** While detached, a datapath sends Hello this often. */
export const HELLO_RETRY_MS = 1000;

export function helloMessage(datapathName: string, pid: number = process.pid): HelloMsg {
  return { type: MsgType.Hello, version: PROTOCOL_VERSION, pid, datapathName };
}

export function readyMessage(agentName: string, heartbeatMs: number = DEFAULT_HEARTBEAT_MS): ReadyMsg {
  return { type: MsgType.Ready, version: PROTOCOL_VERSION, heartbeatMs, agentName };
}

/** The Error(VersionMismatch) that refuses a peer speaking another version. */
export function versionMismatch(theirs: number, self: string): ErrorMsg {
  return {
    type: MsgType.Error,
    code: ErrorCode.VersionMismatch,
    flowId: 0,
    programId: 0,
    message: `protocol version mismatch: you sent version ${theirs}, ${self} speaks version ${PROTOCOL_VERSION}`,
  };
}

/** The agent's answer to a Hello: Ready, or the refusal when the versions differ. */
export function answerHello(hello: HelloMsg, agentName: string, heartbeatMs: number = DEFAULT_HEARTBEAT_MS): ReadyMsg | ErrorMsg {
  if (hello.version !== PROTOCOL_VERSION) return versionMismatch(hello.version, `agent ${agentName}`);
  return readyMessage(agentName, heartbeatMs);
}

/** The silence after which a datapath falls back, for an agent's announced heartbeat period. */
export function fallbackAfterMs(heartbeatMs: number): number {
  return FALLBACK_AFTER_HEARTBEATS * heartbeatMs;
}
