// What one announce sends and what a tracker answers, independent of HTTP or UDP.

export interface PeerAddress { host: string; port: number }

/** BEP 3 events; '' is a regular (periodic) announce. */
export type AnnounceEvent = '' | 'started' | 'completed' | 'stopped';

export interface AnnounceRequest {
  infoHash: Buffer; // 20 bytes
  peerId: Buffer; // 20 bytes
  port: number; // our listening port
  uploaded: number; // bytes
  downloaded: number; // bytes
  left: number; // bytes
  event: AnnounceEvent;
  numwant?: number;
  /** Lets a tracker recognise us across IP changes (BEP 7/15); a 32-bit value. */
  key: number;
  /** Echoed back to HTTP trackers that sent one (BEP 3 "tracker id"). */
  trackerId?: string;
}

export interface AnnounceResponse {
  intervalS: number;
  minIntervalS?: number;
  peers: PeerAddress[];
  complete?: number; // seeders
  incomplete?: number; // leechers
  warning?: string;
  trackerId?: string;
}

/** Options shared by one-shot announces. */
export interface AnnounceOptions {
  /** HTTP: the whole request's deadline. UDP: the first retransmission timeout (BEP 15: 15 s). */
  timeoutMs?: number;
  /** UDP only: retransmissions after the first try (BEP 15: up to 8), each waiting twice as long. */
  maxRetries?: number;
  /** HTTP only: the largest response body accepted. */
  maxBodyBytes?: number;
  signal?: AbortSignal;
}
