// The table's figures, the plot, the progress-line reader, and the world plan, on known inputs.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarize, formatTable } from '../../world/summary.js';
import { plotRuns, uploadRates } from '../../world/plot-svg.js';
import { parseProgressLine } from '../../world/progress-line.js';
import { planWorld } from '../../world/world-plan.js';
import { resolveConfig } from '../../world/config.js';
import { makeContent, stagePieces, writeStage } from '../../world/content.js';
import { Rng } from '../../world/random.js';
import { parseMetainfo } from '../../datapath/metainfo/metainfo.js';
import type { RunResult } from '../../world/run-world.js';
import { createHash } from 'node:crypto';

const dir = mkdtempSync(join(tmpdir(), 'ccp-world-summary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(role: 'alg' | 'baseline', trial: number, timeS: number, up: number, completed = true): RunResult {
  const alg = role === 'alg' ? 'mine' : 'tft';
  return {
    alg, role, trial, seed: 1 + trial, completed, timeMs: completed ? timeS * 1000 : NaN, startupMs: 500, downBytes: 1000, upBytes: up,
    ratio: up / 1000, error: completed ? undefined : 'timeout',
    samples: [
      { tMs: 0, fraction: 0, downBytes: 0, upBytes: 0, downBps: 0, upBps: 0, peers: 0, complete: false },
      { tMs: 1000, fraction: 0.5, downBytes: 500, upBytes: up / 2, downBps: 500, upBps: 0, peers: 3, complete: false },
      { tMs: timeS * 1000, fraction: 1, downBytes: 1000, upBytes: up, downBps: 500, upBps: 0, peers: 3, complete: true },
    ],
  };
}

describe('summary of a comparison', () => {
  const runs = [run('alg', 0, 10, 100), run('baseline', 0, 12, 300), run('alg', 1, 11, 200), run('baseline', 1, 12, 400), run('alg', 2, 9, 150), run('baseline', 2, 13, 350)];

  it('medians, spreads and paired differences with a t interval', () => {
    const [mine, base] = summarize(runs);
    expect(mine!.alg).toBe('mine');
    expect(mine!.completed).toBe(3);
    expect(mine!.timeS).toMatchObject({ median: 10, min: 9, max: 11 });
    expect(base!.upBytes.median).toBe(350);
    // time differences −2, −1, −4: mean −7/3, sd 1.528, t(2) = 4.303 → half-width 3.795
    const d = mine!.vsBaseline!.timeS;
    expect(d.t.estimate).toBeCloseTo(-7 / 3, 9);
    expect(d.t.high - d.t.estimate).toBeCloseTo(3.795, 2);
    expect(d.percent).toBeCloseTo((100 * (-7 / 3)) / (37 / 3), 6);
    expect(mine!.vsBaseline!.upBytes.t.estimate).toBeCloseTo(-200, 9);
    expect(d.bootstrap.low).toBeLessThanOrEqual(d.t.estimate);
    expect(base!.vsBaseline).toBeUndefined();
  });

  it('a run that did not complete is counted but left out of times and pairs', () => {
    const [mine] = summarize([...runs.slice(0, 4), run('alg', 2, 0, 0, false), run('baseline', 2, 13, 350)]);
    expect(mine!.runs).toBe(3);
    expect(mine!.completed).toBe(2);
    expect(mine!.vsBaseline!.timeS.t.n).toBe(2);
  });

  it('the table shows the same figures', () => {
    const table = formatTable(summarize(runs));
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^algorithm\s+done\s+time s \(median \[min–max\]\)\s+down\s+up\s+up\/down\s+Δtime vs tft \[95% CI\]\s+Δup vs tft \[95% CI\]$/);
    expect(lines[2]).toMatch(/^mine\s+3\/3\s+10\.0 \[9\.0–11\.0\]\s+1\.0 kB\s+150 B\s+0\.15\s+−2\.3 s \(−19%\) \[−6\.1 s, \+1\.5 s\]\s+−200 B \(−/);
    expect(lines[3]).toMatch(/^tft \(baseline\)\s+3\/3\s+12\.0 \[12\.0–13\.0\]/);
    expect(formatTable(summarize(runs.slice(0, 2)))).toMatch(/1 trial: no interval/);
  });

  it('the plot has a line per run in each panel, and escapes names', () => {
    const svg = plotRuns([...runs, { ...run('alg', 3, 5, 5), alg: '<a&b>' }], 'x & y');
    expect(svg.match(/<polyline/g)).toHaveLength(14);
    expect(svg).toContain('&lt;a&amp;b&gt;');
    expect(svg).not.toContain('<a&b>');
    expect(svg).toMatch(/<\/svg>\n$/);
  });

  it('upload rates come from byte counts when the client reports none', () => {
    const r = uploadRates(run('alg', 0, 3, 400));
    expect(r.map((p) => p.bps)).toEqual([0, 200, 100]);
  });
});

describe('reading download --json lines', () => {
  it('takes completion from verified bytes, rates and counts, and carries values over', () => {
    const a = parseProgressLine(JSON.stringify({ event: 'progress', haveBytes: 250, totalBytes: 1000, downloadedBytes: 300, uploadedBytes: 40, rateInBps: 90, rateOutBps: 9, peers: 4, percent: 25, complete: false }), 1500, 1000)!;
    expect(a).toEqual({ tMs: 1500, fraction: 0.25, downBytes: 300, upBytes: 40, downBps: 90, upBps: 9, peers: 4, complete: false });
    const done = parseProgressLine(JSON.stringify({ event: 'complete', message: 'x', downloadedBytes: 1100 }), 3000, 1000, a)!;
    expect(done).toMatchObject({ fraction: 1, downBytes: 1100, upBytes: 40, complete: true });
    expect(parseProgressLine('{"event":"warning","message":"tracker down"}', 1, 1000)).toBeNull();
    expect(parseProgressLine('not json', 1, 1000)).toBeNull();
    expect(parseProgressLine('[1,2]', 1, 1000)).toBeNull();
  });
});

describe('the world plan and the stages', () => {
  it('is the same for the same seed, different for another, and seeds come first', () => {
    const c = resolveConfig({ peers: 6, seeds: 2, external: 'aria2:2', stages: 'uniform:0-0.9' });
    const a = planWorld(c, 100, 5);
    expect(planWorld(c, 100, 5)).toEqual(a);
    expect(planWorld(c, 100, 6)).not.toEqual(a);
    expect(a.ours).toHaveLength(6);
    expect(a.external).toHaveLength(2);
    expect(a.ours.slice(0, 2).every((p) => p.stage === 1 && p.pieces.length === 100)).toBe(true);
    for (const p of [...a.ours.slice(2), ...a.external]) {
      expect(p.pieces.length).toBe(Math.floor(p.stage * 100));
      expect(p.uploadBps).toBeGreaterThanOrEqual(50_000);
      expect(p.uploadBps).toBeLessThanOrEqual(200_000);
    }
    expect(new Set([...a.ours, ...a.external].map((p) => p.peerIdHex)).size).toBe(8);
  });

  it('a stage writes exactly its pieces; the content is the same for the same seed', async () => {
    const one = await makeContent(join(dir, 'a'), 9, 100_000, 16384, ['http://127.0.0.1:1/announce']);
    const two = await makeContent(join(dir, 'b'), 9, 100_000, 16384, ['http://127.0.0.1:1/announce']);
    expect(readFileSync(one.dataPath).equals(readFileSync(two.dataPath))).toBe(true);
    expect(one.torrent.equals(two.torrent)).toBe(true);
    expect(one.meta.pieceCount).toBe(7);
    const pieces = stagePieces(new Rng(1), 7, 0.5);
    expect(pieces).toHaveLength(3);
    await writeStage(one, join(dir, 'peer'), pieces);
    const data = readFileSync(join(dir, 'peer', one.meta.name));
    expect(statSync(join(dir, 'peer', one.meta.name)).size).toBe(100_000);
    const meta = parseMetainfo(one.torrent);
    for (let i = 0; i < 7; i++) {
      const piece = data.subarray(i * 16384, Math.min(100_000, (i + 1) * 16384));
      const ok = createHash('sha1').update(piece).digest().equals(meta.pieceHashes.subarray(20 * i, 20 * i + 20));
      expect(ok).toBe(pieces.includes(i));
    }
  });
});
