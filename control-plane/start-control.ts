// Attaches the control plane to a datapath's flows as a command's options ask: `ipc: 'unix'` lets an
// agent attach over Unix datagrams; `alg` runs an agent inside this process (in-process transport). With
// both, the external agent has priority while it is attached, and the in-process one steers otherwise.
// The CLI's datapath commands (download, seed, shape) and the world's peers both use it.
import type { FlowSource } from '../datapath/flow/flow-api.js';
import type { Agent } from '../agent/agent.js';
import { DEFAULT_HEARTBEAT_MS } from '../protocol/handshake.js';
import type { Channel, DatapathClient } from '../protocol/transport.js';

export interface ControlOptions {
  ipc?: string;
  alg?: string;
  set?: string[];
  socketDir?: string;
  agentSocket?: string;
  /** In-process agent's heartbeat, ms. */
  heartbeat?: string | number;
  /** Agent silence before flows return to the standard policy, ms (default 3 × the agent's heartbeat). */
  agentTimeout?: string | number;
  /** Program tick period, ms. */
  tick?: string | number;
}

function msOption(value: string | number | undefined, what: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`invalid ${what} '${String(value)}': expected ${min}..${max} ms`);
  return n;
}

/** Attaches the control plane to `source` as the options ask; resolves to a function that detaches it. */
export async function startControl(source: FlowSource, opts: ControlOptions, name: string): Promise<() => Promise<void>> {
  const ipc = opts.ipc;
  if (ipc !== undefined && ipc !== 'unix') throw new Error(`invalid --ipc '${ipc}': the only transport between processes is 'unix'`);
  if (ipc === undefined && opts.alg === undefined) {
    if ((opts.set ?? []).length > 0) throw new Error('--set is for an algorithm: give --alg NAME too (or pass --set to ccp-bt connect)');
    return async () => {};
  }
  const heartbeatMs = msOption(opts.heartbeat, '--heartbeat', 1, 60_000) ?? DEFAULT_HEARTBEAT_MS;
  const agentTimeoutMs = msOption(opts.agentTimeout, '--agent-timeout', 1, 600_000);
  const tickMs = msOption(opts.tick, '--tick', 5, 60_000) ?? 100;

  // The control plane (and the DSL compiler behind it) loads only when asked for.
  const { ControlHost, Agent, Params, checkAlgorithmParams, loadAlgorithm, createInprocAgentServer, connectDatapath } = await import('./parts.js');
  // Load and check the algorithm before opening any socket: a bad --alg fails cleanly.
  let inproc: { agent: Agent; close: () => Promise<void>; client: DatapathClient } | null = null;
  const channels: Channel[] = [];
  const clients: DatapathClient[] = [];
  if (opts.alg !== undefined) {
    const mod = await loadAlgorithm(opts.alg);
    const params = Params.parse(opts.set ?? []);
    checkAlgorithmParams(mod, params, opts.alg);
    const server = createInprocAgentServer(`${name}-agent`);
    const agent = new Agent(server, mod, { params, heartbeatMs, name: `${opts.alg} (in-process)` });
    const client = server.connect(name);
    inproc = { agent, client, close: () => server.close() };
  }
  try {
    if (ipc === 'unix') {
      const client = await connectDatapath({
        ...(opts.socketDir !== undefined ? { dir: opts.socketDir } : {}),
        ...(opts.agentSocket !== undefined ? { agentPath: opts.agentSocket } : {}),
        name,
      });
      channels.push(client);
      clients.push(client);
    }
  } catch (err) {
    inproc?.agent.close();
    await inproc?.close();
    throw err;
  }
  // The unix agent comes first: it takes over from the in-process one while it is attached.
  if (inproc) {
    channels.push(inproc.client);
    clients.push(inproc.client);
  }
  const host = new ControlHost(source, channels, {
    name,
    tickMs,
    ...(agentTimeoutMs !== undefined ? { agentTimeoutMs } : {}),
  });
  host.start();
  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    host.stop();
    // Let the Goodbye leave before the sockets close.
    await new Promise((r) => setImmediate(r));
    inproc?.agent.close();
    for (const c of clients) await c.close().catch(() => {});
    await inproc?.close();
  };
}
