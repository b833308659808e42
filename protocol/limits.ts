// Bounds of the wire format. Every decoder checks them, so a peer cannot make us allocate or loop
// without limit. docs/protocol.md lists the same numbers.

/** "CCBT" read as bytes. */
export const MAGIC = Buffer.from('CCBT', 'latin1');
export const HEADER_BYTES = 12;
export const FRAME_HEADER_BYTES = 4;
/** unix-dgram silently cuts datagrams at 64 KiB; stay well under it. */
export const DEFAULT_MAX_DATAGRAM_BYTES = 60 * 1024;
/** The smallest max size an encoder accepts: must hold the largest possible message. */
export const MIN_MAX_DATAGRAM_BYTES = 34 * 1024;
export const MAX_DATAGRAM_BYTES = 65_536;

export const MAX_NAME_BYTES = 255; // field, datapath, agent, variable names; peer host
export const MAX_REASON_BYTES = 255; // FlowClosed / Goodbye reasons (longer ones are cut)
export const MAX_ERROR_TEXT_BYTES = 2048; // Error message text (longer ones are cut)
export const MAX_SOURCE_BYTES = 32 * 1024; // InstallProgram source
export const MAX_FIELDS = 64; // fields in one SwitchProgram / UpdateFields
export const MAX_REPORT_VARS = 64; // names in ProgramInstalled
export const MAX_REPORT_VALUES = 1024; // values in one Report / TorrentReport
export const HASH_BYTES = 20; // info-hash, peer id

export const U16_MAX = 0xffff;
export const U32_MAX = 0xffff_ffff;
