/** Any failed announce: unreachable, timed out, malformed answer, or the tracker's own refusal. */
export class TrackerError extends Error {
  constructor(
    message: string,
    /** True when the tracker answered with a failure reason (BEP 3) or an error action (BEP 15). */
    readonly byTracker = false,
  ) {
    super(message);
    this.name = 'TrackerError';
  }
}
