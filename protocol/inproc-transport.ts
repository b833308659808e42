// The embedded case: datapath and agent in one process. Messages still go through the codec — every
// datagram is encoded, copied and decoded — because that is what makes the two transports behave the
// same: the same validation and bounds, the same batching per tick, and no aliasing (a datapath that
// reuses its report array cannot change a report the agent already holds). Delivery is on
// setImmediate, never inside the sender's call, so handlers cannot re-enter each other and a
// report/update ping-pong cannot starve the event loop.
import { copyDatagram } from './codec.js';
import { Link } from './link.js';
import { MsgType } from './messages.js';
import type { DatagramSink, SendOutcome } from './outbox.js';
import type { AgentServer, Channel, DatapathClient } from './transport.js';

export interface InprocAgentServer extends AgentServer {
  /** A new datapath's side of a conversation with this agent (the agent sees it on its first datagram). */
  connect(datapathName: string): DatapathClient;
}

/** Carries datagrams one way to a Link, a batch per setImmediate. */
class InprocPipe implements DatagramSink {
  private pending: Buffer[] = [];
  private scheduled = false;
  target: Link | null = null;
  /** Runs once before the first delivery (the agent announces its channel then). */
  beforeFirst: (() => void) | null = null;

  trySend(datagram: Buffer): SendOutcome {
    if (this.target === null || this.target.isClosed) return 'gone';
    this.pending.push(copyDatagram(datagram));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.deliver);
    }
    return 'sent';
  }

  private readonly deliver = (): void => {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (this.beforeFirst !== null) {
      const first = this.beforeFirst;
      this.beforeFirst = null;
      first();
    }
    for (const d of batch) this.target?.receive(d);
  };
}

/** Never congested: waiting for room is never needed. */
const noWait = (): void => {};

class InprocDatapathClient implements DatapathClient {
  readonly description: string;
  constructor(
    private readonly link: Link,
    private readonly onClose: () => void,
  ) {
    this.description = link.description;
  }
  send(msg: Parameters<Channel['send']>[0]): void {
    this.link.send(msg);
  }
  onMessage(handler: Parameters<Channel['onMessage']>[0]): void {
    this.link.onMessage(handler);
  }
  onError(handler: Parameters<Channel['onError']>[0]): void {
    this.link.onError(handler);
  }
  stats(): ReturnType<Link['stats']> {
    return this.link.stats();
  }
  async close(): Promise<void> {
    if (this.link.isClosed) return;
    this.link.close();
    this.onClose();
  }
}

export function createInprocAgentServer(name = 'inproc-agent'): InprocAgentServer {
  const channels = new Set<Link>();
  const channelHandlers: ((ch: Channel) => void)[] = [];
  const unannounced: Link[] = [];
  let closed = false;

  const announce = (link: Link): void => {
    if (closed || link.isClosed) return;
    if (channelHandlers.length === 0) {
      unannounced.push(link);
      return;
    }
    for (const h of channelHandlers) h(link);
  };

  return {
    address: `inproc:${name}`,
    onChannel(handler: (ch: Channel) => void): void {
      channelHandlers.push(handler);
      for (const link of unannounced.splice(0)) handler(link);
    },
    connect(datapathName: string): DatapathClient {
      const toAgent = new InprocPipe();
      const toDatapath = new InprocPipe();
      const agentSide: Link = new Link({
        description: `inproc:${datapathName}`,
        selfName: `agent ${name}`,
        sink: toDatapath,
        waitForRoom: noWait,
        onPeerGone: () =>
          queueMicrotask(() => {
            // As over sockets: a datapath gone without Goodbye is heard as one.
            agentSide.deliverLocal({ type: MsgType.Goodbye, reason: `datapath ${datapathName} is gone` });
            agentSide.close();
            channels.delete(agentSide);
          }),
      });
      const datapathSide = new Link({ description: `inproc:${name}`, selfName: `datapath ${datapathName}`, sink: toAgent, waitForRoom: noWait });
      toDatapath.target = datapathSide;
      if (!closed) {
        toAgent.target = agentSide;
        channels.add(agentSide);
        toAgent.beforeFirst = () => announce(agentSide);
      }
      return new InprocDatapathClient(datapathSide, () => {
        // The datapath left: the agent's sends to it now report the peer gone.
        toDatapath.target = null;
        channels.delete(agentSide);
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const link of channels) link.close();
      channels.clear();
      unannounced.length = 0;
    },
  };
}
