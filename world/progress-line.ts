// Reads the JSON progress lines `ccp-bt download --json` prints into a sample of my client's state.
// Kept tolerant of field names so the harness does not break when a field is renamed or added.

export interface ClientSample {
  /** ms since my client's datapath started. */
  readonly tMs: number;
  /** Completion in [0, 1]. */
  readonly fraction: number;
  readonly downBytes: number;
  readonly upBytes: number;
  readonly downBps: number;
  readonly upBps: number;
  readonly peers: number;
  readonly complete: boolean;
}

function num(o: Record<string, unknown>, ...keys: string[]): number | undefined {
  for (const k of keys) {
    const v = o[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return undefined;
}

/**
 * Parses one line; null when it is not a progress line. `tMs` is stamped by the caller; values a line
 * leaves out (a 'complete' message without rates) are carried over from `prev`.
 */
export function parseProgressLine(line: string, tMs: number, totalBytes: number, prev?: ClientSample): ClientSample | null {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return null;
  const r = o as Record<string, unknown>;
  const downBytes = num(r, 'downloadedBytes', 'downloaded', 'bytesDown', 'down', 'recv', 'bytes_recv');
  const upBytes = num(r, 'uploadedBytes', 'uploaded', 'bytesUp', 'up', 'sent', 'bytes_sent');
  const have = num(r, 'haveBytes', 'have', 'completedBytes', 'verified', 'verifiedBytes');
  const left = num(r, 'left', 'leftBytes', 'left_bytes');
  const total = num(r, 'totalBytes') ?? totalBytes;
  // Verified bytes are the most precise measure of completion; a rounded percent is the fallback.
  let fraction = have !== undefined && total > 0 ? have / total : num(r, 'fraction', 'progress');
  const percent = num(r, 'percent', 'pct');
  if (fraction === undefined && percent !== undefined) fraction = percent / 100;
  if (fraction === undefined && left !== undefined && total > 0) fraction = 1 - left / total;
  if (fraction !== undefined && fraction > 1.0001 && fraction <= 100) fraction /= 100; // a percent under another name
  const event = typeof r.event === 'string' ? r.event : typeof r.type === 'string' ? r.type : typeof r.state === 'string' ? r.state : '';
  const complete = r.complete === true || r.done === true || /^(complete|completed|done|finished|seeding)$/i.test(event) || (fraction !== undefined && fraction >= 1);
  if (downBytes === undefined && upBytes === undefined && fraction === undefined && !complete) return null;
  return {
    tMs,
    fraction: Math.max(0, Math.min(1, complete ? 1 : (fraction ?? prev?.fraction ?? 0))),
    downBytes: downBytes ?? prev?.downBytes ?? 0,
    upBytes: upBytes ?? prev?.upBytes ?? 0,
    downBps: num(r, 'rateInBps', 'downRate', 'rateDown', 'downBps', 'downloadRate', 'rate_in', 'rateIn') ?? prev?.downBps ?? 0,
    upBps: num(r, 'rateOutBps', 'upRate', 'rateUp', 'upBps', 'uploadRate', 'rate_out', 'rateOut') ?? prev?.upBps ?? 0,
    peers: num(r, 'peers', 'connections', 'numPeers') ?? prev?.peers ?? 0,
    complete,
  };
}
