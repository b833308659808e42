// The agent: serves any number of datapaths on one AgentServer, one DatapathSession each, all running
// the same algorithm module with the same parameters.
import type { AgentServer, Channel } from '../protocol/transport.js';
import { DEFAULT_HEARTBEAT_MS } from '../protocol/handshake.js';
import type { AlgorithmModule } from './api.js';
import { DatapathSession, type AgentStats } from './datapath-session.js';
import { Params } from './params.js';

export interface AgentOptions {
  /** `--set` values (parsed) or raw "key=value" strings. */
  readonly params?: Params | readonly string[];
  /** Heartbeat period asked of every datapath's watchdog (ms). The datapath times out after 3×. */
  readonly heartbeatMs?: number;
  readonly name?: string;
  readonly log?: (line: string) => void;
  /** How often swarm policies' onTick deadlines are checked (ms). */
  readonly swarmTickMs?: number;
}

export { DEFAULT_HEARTBEAT_MS };

export class Agent {
  readonly stats: AgentStats = { flows: 0, reports: 0, staleReports: 0, errors: 0, algorithmFailures: 0 };
  readonly params: Params;
  private readonly sessions = new Set<DatapathSession>();
  private readonly sharedStore = new Map<string, unknown>();
  private readonly timer: NodeJS.Timeout;
  private readonly log: (line: string) => void;
  private readonly heartbeatMs: number;
  private closed = false;

  constructor(
    private readonly server: AgentServer,
    private readonly module: AlgorithmModule,
    private readonly opts: AgentOptions = {},
  ) {
    this.params = opts.params instanceof Params ? opts.params : Params.parse(opts.params ?? []);
    this.log = opts.log ?? ((line) => process.stderr.write(`agent: ${line}\n`));
    const hb = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    if (!Number.isFinite(hb) || hb < 1 || hb > 60_000) throw new RangeError(`heartbeat ${hb} ms is not in 1..60000`);
    this.heartbeatMs = hb;
    server.onChannel((ch) => this.addChannel(ch));
    this.timer = setInterval(() => {
      const now = performance.now();
      for (const s of this.sessions) {
        // A transport that saw the datapath's socket vanish closes the channel: forget that datapath.
        if ((s.channel as { isClosed?: boolean }).isClosed === true) {
          s.close('datapath gone');
          this.sessions.delete(s);
          continue;
        }
        s.tick(now);
      }
    }, opts.swarmTickMs ?? 100);
    this.timer.unref();
  }

  get address(): string {
    return this.server.address;
  }

  /** Datapaths that completed the handshake. */
  get attachedDatapaths(): string[] {
    return [...this.sessions].filter((s) => s.isReady).map((s) => s.name);
  }

  /** Live flows over all datapaths. */
  get flowCount(): number {
    let n = 0;
    for (const s of this.sessions) n += s.flowCount;
    return n;
  }

  /** Says Goodbye to every datapath (their flows return to the standard policy at once) and stops. */
  close(reason = 'agent stopping'): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const s of this.sessions) s.close(reason);
    this.sessions.clear();
  }

  private addChannel(ch: Channel): void {
    if (this.closed) return;
    this.sessions.add(
      new DatapathSession(ch, {
        module: this.module,
        params: this.params,
        heartbeatMs: this.heartbeatMs,
        agentName: this.opts.name ?? `agent-${process.pid}`,
        shared: <T>(key: string, make: () => T): T => {
          if (!this.sharedStore.has(key)) this.sharedStore.set(key, make());
          return this.sharedStore.get(key) as T;
        },
        log: this.log,
        stats: this.stats,
      }),
    );
  }
}
