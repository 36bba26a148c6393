// Copies non-TypeScript assets of src/ into dist/ after tsc.
import { copyFileSync, mkdirSync } from 'node:fs';

mkdirSync(new URL('../dist/onnx/', import.meta.url), { recursive: true });
copyFileSync(new URL('../src/onnx/onnx-proto.json', import.meta.url), new URL('../dist/onnx/onnx-proto.json', import.meta.url));
