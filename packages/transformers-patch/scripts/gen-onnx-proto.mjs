// Regenerates src/onnx/onnx-proto.json, the protobufjs JSON descriptor of the ONNX schema
// (onnx.proto from the `onnx` Python package, e.g. Debian's python3-onnx).
//
//   node scripts/gen-onnx-proto.mjs [/usr/lib/python3/dist-packages/onnx/onnx.proto]
import { readFileSync, writeFileSync } from 'node:fs';
import protobuf from 'protobufjs';

const source = process.argv[2] ?? '/usr/lib/python3/dist-packages/onnx/onnx.proto';
const parsed = protobuf.parse(readFileSync(source, 'utf8'), { keepCase: false, alternateCommentMode: false });
const json = parsed.root.toJSON({ keepComments: false });
const out = new URL('../src/onnx/onnx-proto.json', import.meta.url);
writeFileSync(out, JSON.stringify(json) + '\n');
console.log(`wrote ${out.pathname} from ${source} (package ${parsed.package})`);
