// UDP tracker endpoint (BEP 15). Connection ids are stateless: an HMAC of the client's address and
// the current minute, accepted for two minutes. Malformed datagrams are dropped silently (answering
// garbage would make us an amplifier); a bad connection id or a refused torrent gets an error action.
import dgram from 'node:dgram';
import { createHmac, randomBytes } from 'node:crypto';
import { encodeCompactPeers4, encodeCompactPeers6 } from '../datapath/tracker/compact-peers.js';
import {
  decodeClientMessage, encodeAnnounceResponse, encodeConnectResponse, encodeErrorResponse, encodeScrapeResponse,
} from '../datapath/tracker/udp-messages.js';
import { normaliseHost, type TrackerCore } from './tracker-core.js';

const MINUTE_MS = 60_000;
/** Peers per UDP answer: keeps the datagram well under a typical MTU. */
const MAX_UDP_PEERS = 200;

export function makeUdpHandler(core: TrackerCore, socket: dgram.Socket): (msg: Buffer, rinfo: dgram.RemoteInfo) => void {
  const secret = randomBytes(16);
  const connectionIdFor = (host: string, minute: number): Buffer =>
    createHmac('sha256', secret).update(`${host}|${minute}`).digest().subarray(0, 8);
  const family: 4 | 6 = socket.address().family === 'IPv6' ? 6 : 4;

  const reply = (buf: Buffer, rinfo: dgram.RemoteInfo): void => {
    socket.send(buf, rinfo.port, rinfo.address, () => { /* a lost answer is the client's to retry */ });
  };

  return (msg, rinfo) => {
    try {
      const m = decodeClientMessage(msg);
      if (!m) return;
      const host = normaliseHost(rinfo.address);
      const minute = Math.floor(Date.now() / MINUTE_MS);
      if (m.action === 'connect') return reply(encodeConnectResponse(m.transactionId, connectionIdFor(host, minute)), rinfo);
      const valid = m.connectionId.equals(connectionIdFor(host, minute)) || m.connectionId.equals(connectionIdFor(host, minute - 1));
      if (!valid) return reply(encodeErrorResponse(m.transactionId, 'connection id expired or invalid'), rinfo);
      if (m.action === 'scrape') {
        const files = m.infoHashes.map((h) => (core.isAllowed(h) ? core.scrape(h) : { seeders: 0, leechers: 0, completed: 0 }));
        return reply(encodeScrapeResponse(m.transactionId, files), rinfo);
      }
      const claimed = m.ip !== 0 ? [m.ip >>> 24, (m.ip >>> 16) & 255, (m.ip >>> 8) & 255, m.ip & 255].join('.') : undefined;
      const answer = core.announce({
        transport: 'udp', infoHash: m.infoHash, peerId: m.peerId, sourceHost: host, port: m.port,
        left: m.left, uploaded: m.uploaded, downloaded: m.downloaded, event: m.event, numwant: m.numWant < 0 ? 50 : Math.min(m.numWant, MAX_UDP_PEERS),
        ...(claimed !== undefined ? { claimedHost: claimed } : {}),
      });
      if (answer.failure !== undefined) return reply(encodeErrorResponse(m.transactionId, answer.failure), rinfo);
      const peerBytes = family === 4 ? encodeCompactPeers4(answer.peers) : encodeCompactPeers6(answer.peers);
      reply(encodeAnnounceResponse(m.transactionId, core.intervalS, answer.leechers, answer.seeders, peerBytes), rinfo);
    } catch {
      // Never let one datagram take the tracker down.
    }
  };
}
