import { createRequire } from 'node:module';

/**
 * Counts the onnxruntime-node sessions of this process (created / released), whoever creates
 * them — transformers.js or this package — by wrapping onnxruntime-node's backend (the same module
 * instance transformers.js loads). A scenario leaks sessions when, after everything it made was
 * disposed, `live()` is higher than before it.
 */
interface Handler {
  dispose(): Promise<void>;
}
interface Backend {
  createInferenceSessionHandler(...args: unknown[]): Promise<Handler>;
}
interface Counter {
  created: number;
  released: number;
}

const KEY = Symbol.for('jmpjs.test.session-counter');

function counter(): Counter {
  const g = globalThis as { [KEY]?: Counter };
  if (g[KEY]) return g[KEY];
  const c: Counter = { created: 0, released: 0 };
  const require = createRequire(import.meta.resolve('@huggingface/transformers'));
  const { onnxruntimeBackend: backend } = require('onnxruntime-node/dist/backend.js') as { onnxruntimeBackend: Backend };
  const create = backend.createInferenceSessionHandler.bind(backend);
  backend.createInferenceSessionHandler = async (...args: unknown[]) => {
    const handler = await create(...args);
    c.created++;
    const dispose = handler.dispose.bind(handler);
    let released = false;
    handler.dispose = () => {
      if (!released) {
        released = true;
        c.released++;
      }
      return dispose();
    };
    return handler;
  };
  g[KEY] = c;
  return c;
}

/** Starts counting (call before creating pipelines). */
export function countSessions(): void {
  counter();
}

/** Sessions created and not released so far in this process. */
export function liveSessions(): number {
  const c = counter();
  return c.created - c.released;
}

/** Sessions created so far in this process. */
export function createdSessions(): number {
  return counter().created;
}
