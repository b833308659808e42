// The peer wire codec: message values, encoders, the streaming parser, handshakes.
export * from './messages.js';
export * from './encode.js';
export * from './parser.js';
export * from './handshake.js';
export * from './extension.js';
