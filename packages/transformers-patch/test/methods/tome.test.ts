// tome's parity test: compiled graph (src/graph/methods/tome/) = core (@jmpjs/core's methods/tome/, the
// segments runner) = the independent PyTorch reference (tooling/fixtures/jmp_reference.py).
import { parity } from './parity.js';

parity('tome');
