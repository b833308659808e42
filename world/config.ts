// The world's settings: defaults, a JSON file (--config) and flags, merged (flags win) and checked
// before anything starts. Every problem is collected so the user sees them all at once.
import { readFileSync } from 'node:fs';
import { parseBytes } from '../util/units.js';
import { parseDistribution, parseFraction, formatDistribution, type Distribution } from './distribution.js';

export interface ExternalPeers {
  readonly client: 'aria2';
  readonly count: number;
}

export interface WorldConfig {
  /** Our own world peers (standard policy, or --world-alg). */
  readonly peers: number;
  /** How many of the world's peers start complete: ours first, then external ones. */
  readonly seeds: number;
  readonly sizeBytes: number;
  readonly pieceLength: number;
  /** World peers' upload caps, bytes/s (0 = no cap). */
  readonly upload: Distribution;
  /** World leechers' starting completion, a fraction in [0, 1). */
  readonly stages: Distribution;
  /** My client's upload cap, bytes/s (0 = no cap). */
  readonly myUploadBps: number;
  readonly alg: string;
  readonly baseline: string;
  readonly trials: number;
  readonly seed: number;
  readonly out: string | undefined;
  readonly worldAlg: string | undefined;
  /** `key=value` parameters for the algorithm, the baseline and the world's algorithm (as `--set`). */
  readonly set: readonly string[];
  readonly baselineSet: readonly string[];
  readonly worldSet: readonly string[];
  readonly external: readonly ExternalPeers[];
  /** Seconds a world peer keeps seeding after it finishes, before it is reborn at a fresh stage. */
  readonly rebirthPauseS: number;
  /** Seconds the world runs before my client starts (peers announce and meet). */
  readonly warmupS: number;
  /** Seconds my client may take before the run counts as not completed. */
  readonly timeoutS: number;
  readonly json: boolean;
}

/** Settings as given (flags as strings, file values as strings or numbers). */
export type RawSettings = Readonly<Record<string, unknown>>;

export const DEFAULTS: Readonly<Record<string, unknown>> = {
  peers: 8,
  seeds: 2,
  size: '4MiB',
  pieceLength: '64KiB',
  upload: 'uniform:50k-200k',
  stages: 'uniform:0-0.9',
  myUpload: '100k',
  alg: 'aimd',
  baseline: 'tft',
  trials: 1,
  seed: 1,
  rebirthPause: 2,
  warmup: 1,
  timeout: 180,
  json: false,
};

/** The keys a config file (and the flags) may set, with their flag spelling for messages. */
export const SETTING_KEYS = [
  'peers', 'seeds', 'size', 'pieceLength', 'upload', 'stages', 'myUpload', 'alg', 'baseline', 'trials', 'seed',
  'out', 'worldAlg', 'set', 'baselineSet', 'worldSet', 'external', 'rebirthPause', 'warmup', 'timeout', 'json',
] as const;
export type SettingKey = (typeof SETTING_KEYS)[number];

export function flagName(key: string): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

function camel(key: string): string {
  return key.replace(/[-_]([a-z])/g, (_, c: string) => c.toUpperCase());
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

/** Reads a world.json; keys may be camelCase or kebab-case. Throws ConfigError on any problem. */
export function readConfigFile(path: string): RawSettings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`--config ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([`--config ${path}: not valid JSON (${err instanceof Error ? err.message : String(err)})`]);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError([`--config ${path}: expected a JSON object of settings`]);
  }
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    if (k.startsWith('$') || k === 'comment') continue; // "$schema", "comment": notes for humans
    const key = camel(k);
    if (!(SETTING_KEYS as readonly string[]).includes(key)) {
      problems.push(`--config ${path}: unknown setting '${k}' (known: ${SETTING_KEYS.join(', ')})`);
      continue;
    }
    out[key] = v;
  }
  if (problems.length) throw new ConfigError(problems);
  return out;
}

/** Later sources win; undefined values do not override. */
export function mergeSettings(...sources: RawSettings[]): RawSettings {
  const out: Record<string, unknown> = {};
  for (const s of sources) for (const [k, v] of Object.entries(s)) if (v !== undefined) out[k] = v;
  return out;
}

class Checker {
  readonly problems: string[] = [];
  constructor(private readonly raw: RawSettings) {}

  private fail(key: string, msg: string): undefined {
    this.problems.push(`${flagName(key)}: ${msg}`);
    return undefined;
  }

  count(key: string, min: number): number | undefined {
    const v = this.raw[key];
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(n)) return this.fail(key, `expected a whole number, got '${String(v)}'`);
    if (n < min) return this.fail(key, `must be at least ${min}, got ${n}`);
    return n;
  }

  seconds(key: string, min: number): number | undefined {
    const v = this.raw[key];
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n)) return this.fail(key, `expected a number of seconds, got '${String(v)}'`);
    if (n < min) return this.fail(key, `must be at least ${min} s, got ${n}`);
    return n;
  }

  bytes(key: string): number | undefined {
    const v = this.raw[key];
    if (typeof v === 'number') {
      if (!Number.isFinite(v) || v < 0) return this.fail(key, `expected a non-negative size, got ${v}`);
      return Math.round(v);
    }
    if (typeof v !== 'string') return this.fail(key, `expected a size like 4M or 64KiB, got '${String(v)}'`);
    if (/^\s*-/.test(v)) return this.fail(key, `must not be negative, got '${v}'`);
    try {
      return parseBytes(v, 'size');
    } catch (err) {
      return this.fail(key, err instanceof Error ? err.message : String(err));
    }
  }

  text(key: string): string | undefined {
    const v = this.raw[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string' || v.trim() === '') return this.fail(key, `expected a non-empty text, got '${String(v)}'`);
    return v.trim();
  }

  bool(key: string): boolean {
    const v = this.raw[key];
    if (v === undefined) return false;
    if (typeof v === 'boolean') return v;
    if (v === 'true') return true;
    if (v === 'false') return false;
    this.fail(key, `expected true or false, got '${String(v)}'`);
    return false;
  }

  distribution(key: string, parse: (t: string) => number, range: { min?: number; max?: number; maxExclusive?: boolean }): Distribution | undefined {
    const v = this.raw[key];
    const text = typeof v === 'number' ? String(v) : v;
    if (typeof text !== 'string') return this.fail(key, `expected a distribution like uniform:A-B, got '${String(v)}'`);
    try {
      return parseDistribution(text, { what: flagName(key), parse, ...range });
    } catch (err) {
      this.problems.push(err instanceof Error ? err.message : String(err));
      return undefined;
    }
  }

  list(key: string): string[] {
    const v = this.raw[key];
    if (v === undefined || v === null) return [];
    const items = Array.isArray(v) ? v : [v];
    const out: string[] = [];
    for (const item of items) {
      if (typeof item !== 'string' || !/^[^=\s][^=]*=/.test(item)) this.fail(key, `expected key=value, got '${String(item)}'`);
      else out.push(item);
    }
    return out;
  }

  external(key: string): ExternalPeers[] | undefined {
    const v = this.raw[key];
    if (v === undefined || v === null || v === '') return [];
    const items = Array.isArray(v) ? v.map(String) : String(v).split(/[\s,]+/).filter(Boolean);
    const out: ExternalPeers[] = [];
    for (const item of items) {
      const m = /^([a-z0-9]+):(-?\d+)$/i.exec(item.trim());
      if (!m) {
        this.fail(key, `expected CLIENT:COUNT like aria2:2, got '${item}'`);
        continue;
      }
      const client = m[1]!.toLowerCase();
      const count = Number(m[2]);
      if (client !== 'aria2' && client !== 'aria2c') {
        this.fail(key, `unknown external client '${m[1]}' (supported: aria2)`);
        continue;
      }
      if (count < 0) {
        this.fail(key, `count must not be negative, got ${count}`);
        continue;
      }
      out.push({ client: 'aria2', count });
    }
    return out;
  }
}

/** Normalises and checks settings (everything but the algorithms, see checkAlgorithms). */
export function resolveConfig(raw: RawSettings): WorldConfig {
  const s = mergeSettings(DEFAULTS, raw);
  const c = new Checker(s);
  const peers = c.count('peers', 0);
  const seeds = c.count('seeds', 0);
  const sizeBytes = c.bytes('size');
  const pieceLength = c.bytes('pieceLength');
  const upload = c.distribution('upload', (t) => parseBytes(t, 'rate'), { min: 0 });
  const stages = c.distribution('stages', parseFraction, { min: 0, max: 1, maxExclusive: true });
  const myUploadBps = c.bytes('myUpload');
  const alg = c.text('alg');
  const baseline = c.text('baseline');
  const trials = c.count('trials', 1);
  const seed = c.count('seed', 0);
  const out = c.text('out');
  const worldAlg = c.text('worldAlg');
  const set = c.list('set');
  const baselineSet = c.list('baselineSet');
  const worldSet = c.list('worldSet');
  const external = c.external('external');
  const rebirthPauseS = c.seconds('rebirthPause', 0);
  const warmupS = c.seconds('warmup', 0);
  const timeoutS = c.seconds('timeout', 1);
  const json = c.bool('json');

  if (pieceLength !== undefined) {
    if (pieceLength < 16384 || (pieceLength & (pieceLength - 1)) !== 0) {
      c.problems.push(`--piece-length: must be a power of two from 16 KiB (16384 bytes), got ${pieceLength}`);
    } else if (pieceLength > 16 * 1024 * 1024) {
      c.problems.push(`--piece-length: at most 16 MiB, got ${pieceLength}`);
    }
  }
  if (sizeBytes !== undefined && pieceLength !== undefined && sizeBytes < pieceLength) {
    c.problems.push(`--size: ${sizeBytes} bytes is below one piece (--piece-length ${pieceLength}); the content needs at least one whole piece`);
  }
  if (sizeBytes !== undefined && sizeBytes > 2 ** 32) c.problems.push(`--size: at most 4 GiB for a world, got ${sizeBytes}`);
  if (seed !== undefined && seed > 0xffffffff) c.problems.push(`--seed: at most ${0xffffffff}, got ${seed}`);
  const externalCount = (external ?? []).reduce((a, e) => a + e.count, 0);
  if (peers !== undefined && seeds !== undefined) {
    if (seeds > peers + externalCount) {
      c.problems.push(`--seeds: ${seeds} seeds but the world has only ${peers + externalCount} peers (--peers ${peers}${externalCount ? ` + ${externalCount} external` : ''})`);
    }
    if (seeds < 1) c.problems.push(`--seeds: the world needs at least one seed, or my client may never complete`);
  }
  if (peers !== undefined && peers > 200) c.problems.push(`--peers: at most 200 world peers in one process, got ${peers}`);
  if (c.problems.length) throw new ConfigError(c.problems);
  return {
    peers: peers!, seeds: seeds!, sizeBytes: sizeBytes!, pieceLength: pieceLength!, upload: upload!, stages: stages!,
    myUploadBps: myUploadBps!, alg: alg!, baseline: baseline!, trials: trials!, seed: seed!, out, worldAlg,
    set, baselineSet, worldSet, external: external!, rebirthPauseS: rebirthPauseS!, warmupS: warmupS!, timeoutS: timeoutS!, json,
  };
}

/** The config as JSON settings (for results.json), which resolveConfig accepts again. */
export function configToSettings(c: WorldConfig): Record<string, unknown> {
  return {
    peers: c.peers, seeds: c.seeds, size: c.sizeBytes, pieceLength: c.pieceLength,
    upload: formatDistribution(c.upload), stages: formatDistribution(c.stages), myUpload: c.myUploadBps,
    alg: c.alg, baseline: c.baseline, trials: c.trials, seed: c.seed, worldAlg: c.worldAlg,
    set: c.set, baselineSet: c.baselineSet, worldSet: c.worldSet,
    external: c.external.map((e) => `${e.client}:${e.count}`), rebirthPause: c.rebirthPauseS, warmup: c.warmupS,
    timeout: c.timeoutS,
  };
}
