// Progress output for download/seed: a cli-progress bar on a terminal (stderr), plain lines or JSON
// lines (stdout) when piped or asked for.
import type CliProgress from 'cli-progress';
import type { TorrentProgress } from '../datapath/swarm/torrent.js';
import { formatBytes } from '../util/units.js';

export type ProgressMode = 'bar' | 'lines' | 'json';

export function chooseProgressMode(json: boolean): ProgressMode {
  if (json) return 'json';
  return process.stderr.isTTY ? 'bar' : 'lines';
}

export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function etaSeconds(p: TorrentProgress): number {
  if (p.complete) return 0;
  return p.rateInBps > 1 ? (p.totalBytes - p.haveBytes) / p.rateInBps : Number.POSITIVE_INFINITY;
}

function percent(p: TorrentProgress): number {
  return p.totalBytes === 0 ? 100 : (100 * p.haveBytes) / p.totalBytes;
}

/**
 * A reporter for `mode`. cli-progress (and readline, which it loads) is loaded only to draw a bar: a
 * piped or --json run never does, and loading it cost every such process's start ~1 ms.
 */
export async function createProgressReporter(mode: ProgressMode, intervalMs = 1000): Promise<ProgressReporter> {
  const bars = mode === 'bar' ? (await import('cli-progress')).default : null;
  return new ProgressReporter(mode, intervalMs, bars);
}

export class ProgressReporter {
  private bar: CliProgress.SingleBar | null = null;
  private lastLineMs = 0;
  readonly mode: ProgressMode;

  /** `bars` is cli-progress, needed for mode 'bar' (without it the reporter prints lines). */
  constructor(
    mode: ProgressMode,
    private readonly intervalMs = 1000,
    private readonly bars: typeof CliProgress | null = null,
  ) {
    this.mode = mode === 'bar' && bars === null ? 'lines' : mode;
  }

  /** Called often (every tick); throttles lines to one per interval. */
  update(p: TorrentProgress, force = false): void {
    if (this.mode === 'bar' && this.bars) {
      const payload = {
        down: `${formatBytes(p.rateInBps)}/s`, up: `${formatBytes(p.rateOutBps)}/s`, peers: String(p.peers),
        eta_text: formatEta(etaSeconds(p)), have: formatBytes(p.haveBytes), size: formatBytes(p.totalBytes),
      };
      if (!this.bar) {
        this.bar = new this.bars.SingleBar(
          {
            stream: process.stderr, hideCursor: true, etaBuffer: 1,
            format: `${p.name.slice(0, 24)} [{bar}] {percentage}% | {have}/{size} | ↓ {down} ↑ {up} | peers {peers} | ETA {eta_text}`,
          },
          this.bars.Presets.shades_classic,
        );
        this.bar.start(p.totalBytes, p.haveBytes, payload);
      } else {
        this.bar.update(p.haveBytes, payload);
      }
      return;
    }
    const now = Date.now();
    // A tenth of slack: ticks arrive about once an interval, and one landing a few ms early must not
    // be skipped (that would leave a two-interval gap in the lines scripts measure rates from).
    if (!force && now - this.lastLineMs < this.intervalMs * 0.9) return;
    this.lastLineMs = now;
    if (this.mode === 'json') {
      process.stdout.write(JSON.stringify({ event: 'progress', timeMs: now, ...roundProgress(p), percent: Number(percent(p).toFixed(2)), etaS: Number.isFinite(etaSeconds(p)) ? Math.round(etaSeconds(p)) : null }) + '\n');
    } else {
      process.stdout.write(
        `${p.name}: ${percent(p).toFixed(1)}% ${formatBytes(p.haveBytes)}/${formatBytes(p.totalBytes)} ` +
          `down ${formatBytes(p.rateInBps)}/s up ${formatBytes(p.rateOutBps)}/s peers ${p.peers} ETA ${formatEta(etaSeconds(p))}\n`,
      );
    }
  }

  /** A one-off message (complete, warnings) that does not break the bar. */
  message(event: string, text: string, extra: Record<string, unknown> = {}): void {
    if (this.mode === 'json') {
      process.stdout.write(JSON.stringify({ event, message: text, ...extra }) + '\n');
      return;
    }
    if (this.bar) {
      this.bar.stop();
      this.bar = null;
    }
    if (this.mode === 'bar') process.stderr.write(`${text}\n`);
    else process.stdout.write(`${text}\n`);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

function roundProgress(p: TorrentProgress): TorrentProgress {
  return { ...p, rateInBps: Math.round(p.rateInBps), rateOutBps: Math.round(p.rateOutBps) };
}
