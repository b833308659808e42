// How messages travel between a datapath and an agent. Implementations: unix-transport.ts (unix-dgram
// sockets between processes) and inproc-transport.ts (same messages inside one process).
import type { Message } from './messages.js';

/** One datapath ↔ agent conversation. */
export interface Channel {
  /**
   * Queue a message for the other side. Messages queued in one tick share datagrams; a congested
   * socket keeps them and resends when writable. Nothing is dropped silently: if a bounded queue
   * overflows, the other side is told how much was lost (Error Overloaded).
   */
  send(msg: Message): void;
  onMessage(handler: (msg: Message) => void): void;
  /** A datagram that could not be decoded (the channel keeps working). */
  onError(handler: (err: Error) => void): void;
  /** For logs: the other side's socket path or in-process name. */
  readonly description: string;
}

/** The agent's side: one listening address that any number of datapaths talk to. */
export interface AgentServer {
  /** A datapath's first datagram arrived: here is its channel. */
  onChannel(handler: (ch: Channel) => void): void;
  readonly address: string;
  close(): Promise<void>;
}

/** The datapath's side: a channel to the agent address (the agent may not exist yet, or come and go). */
export interface DatapathClient extends Channel {
  close(): Promise<void>;
}
