// What the user sees while a world runs: on a terminal one progress line rewritten in place; when
// piped, nothing (or JSON lines with --json) so logs stay clean.
import { formatBytes } from '../util/units.js';
import type { RunResult, RunUpdate } from './run-world.js';

export type ViewMode = 'tty' | 'json' | 'quiet';

export interface RunLabel {
  readonly trial: number;
  readonly trials: number;
  readonly alg: string;
  readonly role: string;
}

export class LiveView {
  private label: RunLabel | undefined;
  private lastDraw = 0;
  private lastJson = 0;
  private drawn = false;
  private readonly startedAt = performance.now();

  constructor(private readonly mode: ViewMode, private readonly out: NodeJS.WritableStream = process.stdout) {}

  runStarted(label: RunLabel): void {
    this.label = label;
    if (this.mode === 'json') this.json({ type: 'run-start', ...label });
  }

  update(u: RunUpdate): void {
    if (!this.label) return;
    const now = performance.now();
    if (this.mode === 'json') {
      if (now - this.lastJson < 1000) return;
      this.lastJson = now;
      this.json({
        type: 'progress', trial: this.label.trial, alg: this.label.alg, phase: u.phase,
        fraction: u.sample?.fraction ?? 0, downBytes: u.sample?.downBytes ?? 0, upBytes: u.sample?.upBytes ?? 0,
        downBps: u.sample?.downBps ?? 0, upBps: u.sample?.upBps ?? 0,
        worldPeers: (u.world?.alive ?? 0) + u.externalPeers, worldSeeding: u.world?.seeding ?? 0, rebirths: u.world?.rebirths ?? 0,
        worldUpBps: u.world?.upBps ?? 0,
      });
      return;
    }
    if (this.mode !== 'tty' || now - this.lastDraw < 250) return;
    this.lastDraw = now;
    const l = this.label;
    const s = u.sample;
    const worldUp = u.world ? `  ↑ ${formatBytes(u.world.upBps)}/s` : '';
    const world = `world ${(u.world?.alive ?? 0) + u.externalPeers} peers (${u.world?.seeding ?? 0} seeding, ${u.world?.rebirths ?? 0} reborn)${worldUp}`;
    const me = u.phase === 'starting' ? 'starting the world…' : s ? `${(100 * s.fraction).toFixed(1).padStart(5)}%  ↓ ${formatBytes(s.downBps)}/s  ↑ ${formatBytes(s.upBps)}/s  up ${formatBytes(s.upBytes)}` : 'connecting…';
    const elapsed = ((now - this.startedAt) / 1000).toFixed(0);
    this.draw(`trial ${l.trial + 1}/${l.trials}  ${l.alg.padEnd(8)}  ${me}  ${world}  ${elapsed} s`);
  }

  runDone(r: RunResult): void {
    if (this.mode === 'json') {
      this.json({ type: 'run', trial: r.trial, alg: r.alg, role: r.role, completed: r.completed, timeMs: r.timeMs, downBytes: r.downBytes, upBytes: r.upBytes, ratio: r.ratio, error: r.error });
      return;
    }
    if (this.mode !== 'tty') return;
    this.clear();
    const what = r.completed ? `done in ${(r.timeMs / 1000).toFixed(1)} s, down ${formatBytes(r.downBytes)}, up ${formatBytes(r.upBytes)} (ratio ${r.ratio.toFixed(2)})` : `NOT completed: ${r.error ?? 'unknown'}`;
    this.out.write(`trial ${r.trial + 1}  ${r.alg.padEnd(8)}  ${what}\n`);
  }

  /** A line that must be seen (warnings), kept off the progress line. */
  note(line: string): void {
    if (this.mode === 'json') this.json({ type: 'log', message: line });
    else {
      this.clear();
      process.stderr.write(line + '\n');
    }
  }

  json(obj: Record<string, unknown>): void {
    this.out.write(JSON.stringify(obj) + '\n');
  }

  clear(): void {
    if (this.drawn) {
      this.out.write('\r\x1b[2K');
      this.drawn = false;
    }
  }

  private draw(line: string): void {
    const cols = (this.out as NodeJS.WriteStream).columns || 120;
    this.out.write('\r\x1b[2K' + line.slice(0, Math.max(20, cols - 1)));
    this.drawn = true;
  }
}
