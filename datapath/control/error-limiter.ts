// Bounds how many Error messages one peer can make us send: a flood of bad datagrams costs us a
// counter, not a flood back. What is held back is reported once per window (Error Overloaded).
import { ErrorCode, MsgType, type ErrorMsg } from '../../protocol/messages.js';

export class ErrorLimiter {
  private windowStartMs = 0;
  private sent = 0;
  private suppressed = 0;

  constructor(
    private readonly maxPerWindow = 100,
    private readonly windowMs = 1000,
  ) {}

  /** Returns the messages to send now for `err` (possibly none, possibly a summary first). */
  admit(err: ErrorMsg, nowMs: number): ErrorMsg[] {
    const out: ErrorMsg[] = [];
    if (nowMs - this.windowStartMs >= this.windowMs) {
      if (this.suppressed > 0) out.push(this.summary());
      this.windowStartMs = nowMs;
      this.sent = 0;
      this.suppressed = 0;
    }
    if (this.sent < this.maxPerWindow) {
      this.sent++;
      out.push(err);
    } else {
      this.suppressed++;
    }
    return out;
  }

  private summary(): ErrorMsg {
    return {
      type: MsgType.Error,
      code: ErrorCode.Overloaded,
      flowId: 0,
      programId: 0,
      message: `${this.suppressed} more error(s) not sent (over ${this.maxPerWindow} per ${this.windowMs} ms)`,
    };
  }
}
