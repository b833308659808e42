// `ccp-bt world`: check the settings, run the comparison, show and write the results — and on Ctrl-C
// (or SIGTERM) stop every process it started and remove its temporary folder before exiting.
import { mkdtemp, rm, mkdir, rmdir } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULTS, resolveConfig, readConfigFile, mergeSettings, ConfigError, type RawSettings, type WorldConfig } from './config.js';
import { checkAlgorithms, builtinAlgorithms } from './algorithm-check.js';
import { ProcessGroup } from './processes.js';
import { LiveView } from './live-view.js';
import { runComparison } from './runner.js';
import { writeResults } from './results.js';
import type { RunResult } from './run-world.js';

/** The demo `npm start` runs: small enough for about a minute on two cores. */
export function demoSettings(): RawSettings {
  return {
    alg: builtinAlgorithms().includes('tyrant') ? 'tyrant' : 'aimd',
    baseline: 'tft',
    peers: 8,
    seeds: 2,
    size: '2MiB',
    pieceLength: '32KiB',
    upload: 'uniform:100k-300k',
    stages: 'uniform:0-0.8',
    myUpload: '150k',
    trials: 2,
    warmup: 1,
  };
}

export interface WorldCommandInput {
  readonly flags: RawSettings;
  readonly configPath?: string;
  readonly demo: boolean;
  readonly verbose: boolean;
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[:]/g, '-').replace(/\..*$/, '');
}

/** Everything that must hold before a single process or file is made; throws ConfigError. */
export async function prepareConfig(input: WorldCommandInput): Promise<WorldConfig> {
  const file = input.configPath ? readConfigFile(input.configPath) : {};
  const raw = mergeSettings(DEFAULTS, input.demo ? demoSettings() : {}, file, input.flags);
  const problems: string[] = [];
  let config: WorldConfig | undefined;
  try {
    config = resolveConfig(raw);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  // Algorithms are checked even when other settings are wrong, so every problem shows at once.
  const name = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
  const sets = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);
  problems.push(...(await checkAlgorithms([
    { flag: '--alg', name: name(raw.alg), sets: sets(raw.set), setFlag: '--set' },
    { flag: '--baseline', name: name(raw.baseline), sets: sets(raw.baselineSet), setFlag: '--baseline-set' },
    { flag: '--world-alg', name: name(raw.worldAlg), sets: sets(raw.worldSet), setFlag: '--world-set' },
  ])));
  if (config?.external.some((e) => e.count > 0)) {
    const r = spawnSync('aria2c', ['--version'], { stdio: 'ignore' });
    if (r.error || r.status !== 0) problems.push('--external: aria2c is not installed or does not run (apt-get install aria2)');
  }
  if (problems.length || !config) throw new ConfigError(problems);
  return config;
}

export async function runWorldCommand(input: WorldCommandInput): Promise<number> {
  let config: WorldConfig;
  try {
    config = await prepareConfig(input);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) process.stderr.write(`ccp-bt world: ${p}\n`);
      return 2;
    }
    throw err;
  }
  const startedAt = new Date();
  const outDir = resolve(config.out ?? join('world-out', stamp(startedAt)));
  try {
    await mkdir(outDir, { recursive: true });
  } catch (err) {
    process.stderr.write(`ccp-bt world: --out ${outDir}: cannot create it (${(err as NodeJS.ErrnoException).code ?? String(err)})\n`);
    return 2;
  }

  const view = new LiveView(config.json ? 'json' : process.stdout.isTTY ? 'tty' : 'quiet');
  const group = new ProcessGroup();
  const tmp = await mkdtemp(join(tmpdir(), 'ccp-bt-world-'));
  group.guardFolder(tmp);
  let stopping = false;
  const cleanup = async (): Promise<void> => {
    await group.stopAll(2000);
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    view.clear();
    process.stderr.write(`ccp-bt world: ${sig}: stopping every process and removing ${tmp}\n`);
    // Results so far are still written; then exit with the usual 128 + signal number.
    void cleanup()
      // Finished runs are kept; an output folder left empty is removed (rmdir refuses a non-empty one).
      .then(async () => {
        if (runs.length) await writeResults(outDir, config, runs, startedAt, true);
        else await rmdir(outDir);
      })
      .catch(() => {})
      .finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  const runs: RunResult[] = [];
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // If something kills the loop's work unexpectedly, children still go.
  const onExit = (): void => group.killAllNow();
  process.on('exit', onExit);

  try {
    const log = input.verbose ? (l: string): void => view.note(l) : undefined;
    if (!config.json && process.stdout.isTTY) {
      process.stdout.write(`world: ${config.alg} vs ${config.baseline}, ${config.peers} peers${config.external.length ? ` + ${config.external.map((e) => `${e.count} ${e.client}`).join(', ')}` : ''} (${config.seeds} seeds), ${config.trials} trial(s), seed ${config.seed}\n`);
    }
    await runComparison({ config, tmpDir: tmp, group, view, onLog: log, stopped: () => stopping, onResult: (r) => runs.push(r) });
    if (stopping) return 130; // the signal handler finishes and exits
    const written = await writeResults(outDir, config, runs, startedAt, false);
    view.clear();
    if (config.json) view.json({ type: 'summary', summary: written.results.summary, out: outDir });
    else {
      process.stdout.write('\n' + written.table + '\n\n');
      process.stdout.write(`results: ${written.files.json}\nplot:    ${written.files.svg}\n`);
    }
    const failed = runs.filter((r) => !r.completed);
    for (const r of failed) process.stderr.write(`ccp-bt world: trial ${r.trial + 1} ${r.alg}: ${r.error ?? 'did not complete'}\n`);
    return failed.length === runs.length ? 1 : 0;
  } catch (err) {
    if (stopping) return 130;
    view.clear();
    process.stderr.write(`ccp-bt world: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    if (!stopping) {
      await cleanup();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('exit', onExit);
    }
  }
}
