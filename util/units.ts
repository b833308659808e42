// Parsing of user-facing quantities: rates in bytes/s and sizes in bytes, with k/M/G units (powers of 1000)
// and Ki/Mi/Gi (powers of 1024).

const UNITS: Record<string, number> = {
  '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6, g: 1e9, G: 1e9,
  ki: 1024, Ki: 1024, KiB: 1024, mi: 1024 ** 2, Mi: 1024 ** 2, MiB: 1024 ** 2, gi: 1024 ** 3, Gi: 1024 ** 3, GiB: 1024 ** 3,
  kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9, B: 1,
};

/** Parses "50k", "2M", "1.5MiB", "4096" into a non-negative number of bytes (or bytes/s). Throws on bad input. */
export function parseBytes(text: string, what = 'value'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*?)(?:\/s)?\s*$/.exec(text);
  if (!m) throw new Error(`invalid ${what} '${text}': expected a number with an optional unit, like 50k, 2M or 1MiB`);
  const unit = m[2] ?? '';
  const mult = UNITS[unit];
  if (mult === undefined) throw new Error(`invalid ${what} '${text}': unknown unit '${unit}' (use k, M, G, Ki, Mi, Gi)`);
  const value = Number(m[1]) * mult;
  if (!Number.isFinite(value)) throw new Error(`invalid ${what} '${text}': too large`);
  return Math.round(value);
}

/** A rate in bytes per second; 0 means "no cap". */
export function parseRate(text: string): number {
  return parseBytes(text, 'rate');
}

/** Formats bytes (or bytes/s with suffix) for humans: 1.2 MB. */
export function formatBytes(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(2)} MB`;
  if (abs >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${Math.round(n)} B`;
}

export function parsePort(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port '${text}': expected 0..65535`);
  return n;
}

/** "HOST:PORT" → {host, port}; IPv6 as [::1]:6881. */
export function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(text.trim());
  if (!m) throw new Error(`invalid address '${text}': expected HOST:PORT`);
  return { host: (m[1] ?? m[2])!, port: parsePort(m[3]!) };
}
