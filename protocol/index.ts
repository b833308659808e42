// The datapath–agent protocol: messages, their bytes, and the transports that carry them.
export * from './messages.js';
export * from './limits.js';
export * from './protocol-error.js';
export * from './codec.js';
export * from './outbox.js';
export * from './link.js';
export * from './handshake.js';
export * from './transport.js';
export * from './inproc-transport.js';
export * from './socket-dir.js';
export * from './unix-transport.js';
