// The datapath's public surface: the engine (sessions, torrents, peers as flows) and its parts.
export { Session, CLIENT_NAME, type SessionOptions, type AddTorrentOptions } from './swarm/session.js';
export { Torrent, type TorrentOptions, type TorrentProgress } from './swarm/torrent.js';
export { Peer } from './peer/peer.js';
export type { ControlledFlow, FlowControls, FlowEventSink, FlowInfo, FlowSource } from './flow/flow-api.js';
export type { PeerAddress } from './tracker/announcer.js';
