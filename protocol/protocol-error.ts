// The one error type of the protocol layer: what was wrong, in words, plus the wire error code a
// peer should be told (Malformed, or VersionMismatch when the peer speaks another version).
import { ErrorCode } from './messages.js';

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    message: string,
    readonly code: ErrorCode = ErrorCode.Malformed,
    /** Set when code is VersionMismatch: the version the peer's datagram carried. */
    readonly peerVersion?: number,
  ) {
    super(message);
  }
}
