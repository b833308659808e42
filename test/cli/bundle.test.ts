// The prebuilt CLI bundle, in a temporary copy of the package (so edits others make to the live tree
// meanwhile cannot make it stale): real `ccp-bt` processes run from the bundle while it is fresh, fall
// back to the sources once an input changed or CCP_BT_FROM_SOURCE=1, and user .ts algorithms still load.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findPackageRoot } from '../../util/package-root.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
/** The package's source folders (tsconfig's, less tests and benches), what the launcher needs, and the manifests. */
const SOURCE_FOLDERS = (JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] }).include.filter(
  (name) => !['test', 'bench', 'examples'].includes(name) && !name.includes('.') && existsSync(join(ROOT, name)),
);
const COPIED = [...SOURCE_FOLDERS, 'bin', 'examples', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json'];
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

let pkg: string;
const live = new Set<ChildProcess>();

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs node with `args` in the temp package, start-up debug line on; bounded by a timeout. */
function runNode(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((res) => {
    const child = execFile(process.execPath, args, { cwd: pkg, timeout: 30_000, env: { ...process.env, CCP_BT_FROM_SOURCE: '', CCP_BT_DEBUG_START: '1', ...env } }, (err, stdout, stderr) => {
      live.delete(child);
      res({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
    live.add(child);
  });
}

const ccp = (args: string[], env?: Record<string, string>): Promise<Ran> => runNode([join(pkg, 'bin', 'ccp-bt.cjs'), ...args], env);
const manifest = (): { build: string; builtAtMs: number; inputs: string[] } => JSON.parse(readFileSync(join(pkg, 'node_modules', '.cache', 'ccp-bt', 'cli', 'manifest.json'), 'utf8'));

beforeAll(async () => {
  pkg = mkdtempSync(join(tmpdir(), 'ccp-bt-bundle-'));
  // Timestamps kept: a file copied in the last 100 ms before the build would look edited after it (the
  // build allows for the coarse kernel clock), and the bundle would be taken for stale.
  for (const name of COPIED) cpSync(join(ROOT, name), join(pkg, name), { recursive: true, preserveTimestamps: true });
  // Dependencies are shared by symlink; the cache (where bundles live) is the copy's own.
  mkdirSync(join(pkg, 'node_modules', '.cache', 'ccp-bt'), { recursive: true });
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (name !== '.cache') symlinkSync(join(ROOT, 'node_modules', name), join(pkg, 'node_modules', name));
  }
  const chevrotain = join(ROOT, 'node_modules', '.cache', 'ccp-bt', 'chevrotain.mjs');
  if (existsSync(chevrotain)) symlinkSync(chevrotain, join(pkg, 'node_modules', '.cache', 'ccp-bt', 'chevrotain.mjs'));
  const built = await runNode([join(pkg, 'scripts', 'bundle-cli.mjs')]);
  expect(built.stderr).toBe('');
  expect(built.stdout).toMatch(/CLI bundled/);
});

afterEach(() => {
  for (const c of live) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGKILL');
  live.clear();
});

afterAll(() => {
  if (pkg) rmSync(pkg, { recursive: true, force: true });
});

describe('the CLI bundle', () => {
  it('runs --version from the bundle, finding package.json from node_modules/.cache', async () => {
    const r = await ccp(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
    expect(r.stderr).toContain(`start from bundle ${join(pkg, 'node_modules', '.cache', 'ccp-bt', 'cli', manifest().build, 'main.cjs')}`);
  });

  it('runs a command from its own entry, which holds that command alone', async () => {
    const r = await ccp(['tracker', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: ccp-bt tracker/);
    const dir = join(pkg, 'node_modules', '.cache', 'ccp-bt', 'cli', manifest().build);
    expect(r.stderr).toContain(`start from bundle ${join(dir, 'command-tracker.cjs')}`);
    const tracker = readFileSync(join(dir, 'command-tracker.cjs'), 'utf8');
    expect(tracker).not.toContain('registerWorld');
    expect(readFileSync(join(dir, 'main.cjs'), 'utf8')).toContain('registerWorld');
    // An unknown command goes to the whole program, which names it.
    const unknown = await ccp(['nonsense']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`start from bundle ${join(dir, 'main.cjs')}`);
    expect(unknown.stderr).toMatch(/unknown command 'nonsense'/);
  });

  it('keeps the control plane out of the datapath entries and loads it from control.cjs when --alg asks', async () => {
    const dir = join(pkg, 'node_modules', '.cache', 'ccp-bt', 'cli', manifest().build);
    for (const entry of ['command-download.cjs', 'command-seed.cjs', 'command-shape.cjs']) {
      const code = readFileSync(join(dir, entry), 'utf8');
      expect(code, entry).not.toContain('var ControlHost = class');
      expect(code, entry).not.toContain('CstParser');
    }
    expect(readFileSync(join(dir, 'control.cjs'), 'utf8')).toContain('var ControlHost = class');
    const data = mkdtempSync(join(tmpdir(), 'ccp-bt-bundle-alg-'));
    try {
      writeFileSync(join(data, 'f.bin'), Buffer.alloc(40_000, 7));
      expect((await ccp(['create', join(data, 'f.bin'), '--tracker', 'http://127.0.0.1:1/announce', '-o', join(data, 'f.torrent')])).code).toBe(0);
      // An unknown algorithm is named by the agent loader, which lives in control.cjs.
      const r = await ccp(['seed', join(data, 'f.torrent'), '--data', data, '--alg', 'nosuch', '--port', '0', '--host', '127.0.0.1', '--no-announce']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`start from bundle ${join(dir, 'command-seed.cjs')}`);
      expect(r.stderr).toMatch(/unknown algorithm 'nosuch': built-ins are fixed, aimd/);
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });

  it('checks a program from the bundle (chevrotain inside it)', async () => {
    const r = await ccp(['check', 'examples/programs/aimd-upload.ccp']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/aimd-upload\.ccp: ok/);
    expect(r.stderr).toMatch(/start from bundle /);
    const bad = await ccp(['check', 'no-such.ccp']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no such file/);
  });

  it('starts the world peer host from the bundle too', async () => {
    const r = await runNode([join(pkg, 'world', 'peer-host-launch.cjs')]);
    expect(r.stderr).toMatch(/start from bundle .*peer-host\.cjs/);
    expect(r.stdout).toMatch(/"type":"error","message":"usage: peer-host PLAN\.json"/);
    expect(r.code).not.toBe(0);
  });

  it('loads a user .ts algorithm (tsx registered on demand) and listens with unix-dgram resolved from the bundle', async () => {
    const file = join(pkg, 'user-alg.ts');
    const apiUrl = pathToFileURL(join(pkg, 'agent', 'api.ts')).href;
    writeFileSync(file, `import { Algorithm } from '${apiUrl}';\nexport default class Mine extends Algorithm {\n  onCreate(): void {}\n  onReport(r: { sent: number }): void { void r; }\n}\n`);
    const sockDir = mkdtempSync(join(tmpdir(), 'ccp-bt-bundle-sock-'));
    try {
      const child = spawn(process.execPath, [join(pkg, 'bin', 'ccp-bt.cjs'), 'connect', '--ipc', 'unix', '--alg', file, '--socket-dir', sockDir], {
        cwd: pkg,
        env: { ...process.env, CCP_BT_FROM_SOURCE: '', CCP_BT_DEBUG_START: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      live.add(child);
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
      const until = Date.now() + 20_000;
      while (!/listening on/.test(err) && child.exitCode === null && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(err).toMatch(/start from bundle /);
      expect(err).toMatch(/agent: listening on .*with algorithm/);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      rmSync(sockDir, { recursive: true, force: true });
    }
  });

  it('says what is wrong with a user .ts file that is no algorithm (it was compiled: tsx ran)', async () => {
    writeFileSync(join(pkg, 'not-alg.ts'), 'const n: number = 3;\nexport default n;\n');
    const r = await ccp(['connect', '--alg', './not-alg.ts']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/start from bundle /);
    expect(r.stderr).toMatch(/not-alg\.ts exports no Algorithm.*not a class \(number\)/);
  });

  it('falls back to the sources when CCP_BT_FROM_SOURCE=1', async () => {
    const r = await ccp(['--version'], { CCP_BT_FROM_SOURCE: '1' });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
    expect(r.stderr).toMatch(/start from sources: CCP_BT_FROM_SOURCE=1/);
  });

  it('falls back to the sources once an input changed, and a rebuild makes it fresh again', async () => {
    const before = manifest();
    expect(before.inputs).toContain('dsl/index.ts');
    expect(before.inputs).toContain('cli/main.ts');
    expect(before.inputs.some((p) => p.startsWith('node_modules/'))).toBe(false);
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(pkg, 'dsl', 'index.ts'), later, later);
    const stale = await ccp(['--version']);
    expect(stale.code).toBe(0);
    expect(stale.stdout.trim()).toBe(VERSION);
    expect(stale.stderr).toMatch(/start from sources: dsl\/index\.ts changed since the bundle was built/);

    // A rebuild swaps the manifest; the previous build's folder stays for processes still running it.
    const now = new Date();
    utimesSync(join(pkg, 'dsl', 'index.ts'), now, now);
    await new Promise((r) => setTimeout(r, 200)); // past the build's clock slack
    const rebuilt = await runNode([join(pkg, 'scripts', 'bundle-cli.mjs')]);
    expect(rebuilt.stdout).toMatch(/CLI bundled/);
    const after = manifest();
    expect(after.build).not.toBe(before.build);
    expect(existsSync(join(pkg, 'node_modules', '.cache', 'ccp-bt', 'cli', before.build, 'main.cjs'))).toBe(true);
    const fresh = await ccp(['--version']);
    expect(fresh.stderr).toContain(`start from bundle ${join(pkg, 'node_modules', '.cache', 'ccp-bt', 'cli', after.build, 'main.cjs')}`);
  });

  it('falls back to the sources when an input is gone', async () => {
    rmSync(join(pkg, 'examples', 'programs', 'report-rate.ccp')); // not an input: no effect
    expect((await ccp(['--version'])).stderr).toMatch(/start from bundle /);
    const input = manifest().inputs.find((p) => p.startsWith('algorithms/') && p !== 'algorithms/index.ts')!;
    const text = readFileSync(join(pkg, input));
    rmSync(join(pkg, input));
    try {
      // The sources cannot run without the file either; what matters is the bundle was not trusted.
      const r = await ccp(['--version']);
      expect(r.stderr).toContain(`start from sources: ${input} is gone since the bundle was built`);
    } finally {
      writeFileSync(join(pkg, input), text);
    }
  });
});

describe('findPackageRoot', () => {
  it('walks up to the package.json named ccp-bt, from anywhere inside the package', () => {
    expect(findPackageRoot(pathToFileURL(join(ROOT, 'node_modules', '.cache', 'ccp-bt', 'cli', 'b1', 'chunks', 'x.mjs')).href)).toBe(ROOT);
    expect(findPackageRoot(pathToFileURL(join(ROOT, 'cli', 'main.ts')).href)).toBe(ROOT);
  });

  it('names the problem outside any ccp-bt package', () => {
    expect(() => findPackageRoot(pathToFileURL(join(tmpdir(), 'nowhere', 'x.mjs')).href)).toThrow(/cannot find the ccp-bt package: no package.json named "ccp-bt" above/);
  });
});
