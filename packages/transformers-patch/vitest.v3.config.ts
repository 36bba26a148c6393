import { fileURLToPath } from 'node:url';
import { defaultServerConditions, type Plugin } from 'vite';
import { defineConfig } from 'vitest/config';

// The suite against transformers.js v3 (the last 3.x, with the onnxruntime it pins), installed
// beside v4 as the devDependency alias @huggingface/transformers-v3. Every import of
// @huggingface/transformers, in the sources and in the tests, resolves to it.
const v3Url = import.meta.resolve('@huggingface/transformers-v3');
const v3 = fileURLToPath(v3Url);

/**
 * The Node platform (and the tests that open sessions themselves) find onnxruntime-node beside
 * transformers.js with Node's own resolution, `import.meta.resolve('@huggingface/transformers')`,
 * which knows nothing of the alias: point those calls at v3 too, so that the sessions come from
 * v3's onnxruntime, as in an app on v3 (two native onnxruntimes cannot share a process).
 */
const call = "import.meta.resolve('@huggingface/transformers')";
const resolveToV3: Plugin = {
  name: 'jmp-resolve-transformers-v3',
  enforce: 'pre',
  transform(code, id) {
    if (id.endsWith('/host/platform.node.ts') && !code.includes(call)) throw new Error(`${id}: no ${call} to point at transformers.js v3`);
    return code.includes(call) ? code.replaceAll(call, JSON.stringify(v3Url)) : null;
  },
};

const conditions = ['source', ...defaultServerConditions];

export default defineConfig({
  plugins: [resolveToV3],
  resolve: { conditions, alias: [{ find: /^@huggingface\/transformers$/, replacement: v3 }] },
  ssr: { resolve: { conditions, externalConditions: ['source'] } },
  test: {
    include: ['test/**/*.test.ts'],
  },
});
