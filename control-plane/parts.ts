// Everything the control plane brings into a datapath process (agent, DSL compiler, transports), behind
// one module that start-control.ts imports only when --ipc or --alg asks for it. In the CLI bundle it
// is a file of its own (control.cjs), so a plain download or seed does not parse its ~600 KB at start.
export { ControlHost } from '../datapath/control/control-host.js';
export { Agent } from '../agent/agent.js';
export { Params } from '../agent/params.js';
export { checkAlgorithmParams, loadAlgorithm } from '../agent/load-algorithm.js';
export { createInprocAgentServer } from '../protocol/inproc-transport.js';
export { connectDatapath } from '../protocol/unix-transport.js';
