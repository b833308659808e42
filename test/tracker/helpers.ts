// Test helpers for tracker tests: free ports, temporary folders, polling, and child processes killed by PID.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import dgram from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** A port free for both TCP and UDP on 127.0.0.1 (checked by binding both). */
export async function freeTcpUdpPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 40000);
    const tcpOk = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (!tcpOk) continue;
    const udpOk = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.once('error', () => { s.close(); resolve(false); });
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (udpOk) return port;
  }
  throw new Error('no free port found');
}

export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `ccp-bt-${prefix}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v) return v;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function randomId(): Buffer {
  return randomBytes(20);
}

/** Child processes started by a test file; killAll() sends SIGKILL to each by PID. */
export class Processes {
  private readonly children: ChildProcess[] = [];
  output = new Map<ChildProcess, string>();

  start(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.children.push(child);
    this.output.set(child, '');
    const keep = (d: Buffer): void => {
      const prev = this.output.get(child) ?? '';
      if (prev.length < 200_000) this.output.set(child, prev + d.toString());
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', () => { /* reported through exit / output */ });
    return child;
  }

  async killAll(): Promise<void> {
    await Promise.all(this.children.map((c) => killChild(c)));
    this.children.length = 0;
  }
}

export async function killChild(c: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return;
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  try {
    process.kill(c.pid, signal);
  } catch {
    return;
  }
  await Promise.race([exited, sleep(3000)]);
}
