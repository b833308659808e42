// The world's watchdog, in plain JavaScript so it starts in milliseconds. The world tells it on stdin
// which PIDs it started ("+PID"), which are gone ("-PID") and its temporary folder ("=PATH"). If the
// world dies without cleaning up (even SIGKILL), its end of the pipe closes: the guard then kills every
// PID still listed (SIGTERM, SIGKILL after 2 s), removes the folder, and exits.
import { rmSync } from 'node:fs';

const pids = new Set();
const dirs = new Set();
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buf += chunk;
  let nl;
  while ((nl = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, nl).trim();
    buf = buf.slice(nl + 1);
    if (line.startsWith('=') && line.length > 1) dirs.add(line.slice(1));
    const m = /^([+-])(\d+)$/.exec(line);
    if (!m) continue;
    if (m[1] === '+') pids.add(Number(m[2]));
    else pids.delete(Number(m[2]));
  }
});

function signal(sig) {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      pids.delete(pid); // already gone
    }
  }
}

function alive() {
  signal(0);
  return pids.size > 0;
}

function done() {
  for (const d of dirs) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {
      // nothing more to do
    }
  }
  process.exit(0);
}

let finishing = false;
function finish() {
  if (finishing) return;
  finishing = true;
  if (!alive()) return done();
  signal('SIGTERM');
  const started = Date.now();
  const wait = setInterval(() => {
    if (!alive()) {
      clearInterval(wait);
      done();
    } else if (Date.now() - started > 2000) {
      signal('SIGKILL');
      clearInterval(wait);
      setTimeout(done, 200);
    }
  }, 50);
}
process.stdin.on('end', finish);
process.stdin.on('error', finish);
// Ctrl-C reaches the whole terminal group: the world handles it; the guard waits for the pipe to close.
process.on('SIGINT', () => {});
