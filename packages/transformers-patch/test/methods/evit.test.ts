// evit's parity test: compiled graph (src/graph/methods/evit/) = core (@jmpjs/core's methods/evit/, the
// segments runner) = the independent PyTorch reference (tooling/fixtures/jmp_reference.py).
import { parity } from './parity.js';

parity('evit');
