// Offline by default: the bundled model and onnxruntime-web's wasm files are served beside the page
// (transformers.js would otherwise point wasmPaths at a CDN). localModelPath must be a path, not a
// URL: transformers.js only looks for local files at paths.
import { env } from '@huggingface/transformers';

const here = new URL('./', document.baseURI);
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = new URL('models/', here).pathname;
env.useBrowserCache = false;
(env.backends.onnx as { wasm: { wasmPaths: unknown } }).wasm.wasmPaths = new URL('ort/', here).pathname;
