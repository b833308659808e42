// `--set key=value` settings as an algorithm reads them: typed getters with defaults, clear errors.
import { parseBytes } from '../util/units.js';

export class ParamError extends Error {}

export class Params {
  private readonly values: ReadonlyMap<string, string>;
  private readonly read = new Set<string>();

  constructor(values: ReadonlyMap<string, string> | Readonly<Record<string, string>> = new Map()) {
    this.values = values instanceof Map ? new Map(values) : new Map(Object.entries(values));
  }

  /** Parses ["rate=50k", "total=1M"]; throws ParamError naming the bad entry. */
  static parse(entries: readonly string[] = []): Params {
    const map = new Map<string, string>();
    for (const entry of entries) {
      const eq = entry.indexOf('=');
      if (eq <= 0) throw new ParamError(`invalid --set '${entry}': expected key=value`);
      const key = entry.slice(0, eq).trim();
      if (!/^[A-Za-z_][\w.-]*$/.test(key)) throw new ParamError(`invalid --set '${entry}': '${key}' is not a valid key`);
      map.set(key, entry.slice(eq + 1).trim());
    }
    return new Params(map);
  }

  has(key: string): boolean {
    return this.values.has(key);
  }

  keys(): string[] {
    return [...this.values.keys()];
  }

  /** Keys given but never read by the algorithm (likely typos). */
  unread(): string[] {
    return this.keys().filter((k) => !this.read.has(k));
  }

  string(key: string, fallback: string): string {
    this.read.add(key);
    return this.values.get(key) ?? fallback;
  }

  number(key: string, fallback: number): number {
    const text = this.raw(key);
    if (text === undefined) return fallback;
    const n = Number(text);
    if (text === '' || !Number.isFinite(n)) throw new ParamError(`--set ${key}=${text}: expected a number`);
    return n;
  }

  /** A rate in bytes/s: "50k", "2M", "1MiB", "4096". */
  rate(key: string, fallback: number): number {
    return this.bytes(key, fallback);
  }

  /** A size in bytes: "16k", "1MiB". */
  bytes(key: string, fallback: number): number {
    const text = this.raw(key);
    if (text === undefined) return fallback;
    try {
      return parseBytes(text, `--set ${key}`);
    } catch (err) {
      throw new ParamError(err instanceof Error ? err.message : String(err));
    }
  }

  bool(key: string, fallback: boolean): boolean {
    const text = this.raw(key);
    if (text === undefined) return fallback;
    const t = text.toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(t)) return true;
    if (['0', 'false', 'no', 'off'].includes(t)) return false;
    throw new ParamError(`--set ${key}=${text}: expected true/false`);
  }

  private raw(key: string): string | undefined {
    this.read.add(key);
    return this.values.get(key);
  }
}
