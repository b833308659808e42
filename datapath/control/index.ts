// The datapath side of the control plane.
export { ControlHost, MAX_FIELDS_PER_MESSAGE, type ControlHostOptions, type ControlHostStats } from './control-host.js';
export { compileForDatapath, type CompiledProgram, type CompileOutcome } from './compiled-program.js';
