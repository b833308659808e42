// Parsing of `--forward [LISTEN_HOST:]PUBLIC_PORT:CLIENT_HOST:CLIENT_PORT` (IPv6 hosts in brackets).
import { parsePort } from '../util/units.js';
import type { ForwardSpec } from './proxy.js';

const HOST = String.raw`(\[[^\]]+\]|[^:\[\]]+)`;
const FULL = new RegExp(`^${HOST}:(\\d+):${HOST}:(\\d+)$`);
const SHORT = new RegExp(`^(\\d+):${HOST}:(\\d+)$`);

const unbracket = (h: string): string => (h.startsWith('[') ? h.slice(1, -1) : h);

/** Parses one forward spec; `defaultListenHost` is used when the spec names no listen host. */
export function parseForwardSpec(text: string, defaultListenHost: string): ForwardSpec {
  const t = text.trim();
  const s = SHORT.exec(t);
  if (s) return { listenHost: defaultListenHost, listenPort: parsePort(s[1]!), clientHost: unbracket(s[2]!), clientPort: nonZeroPort(s[3]!, text) };
  const f = FULL.exec(t);
  if (f) return { listenHost: unbracket(f[1]!), listenPort: parsePort(f[2]!), clientHost: unbracket(f[3]!), clientPort: nonZeroPort(f[4]!, text) };
  throw new Error(`invalid --forward '${text}': expected [LISTEN_HOST:]PUBLIC_PORT:CLIENT_HOST:CLIENT_PORT, like 6881:127.0.0.1:6882`);
}

function nonZeroPort(p: string, spec: string): number {
  const n = parsePort(p);
  if (n === 0) throw new Error(`invalid --forward '${spec}': the client port cannot be 0`);
  return n;
}
