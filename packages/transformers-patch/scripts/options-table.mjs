// Writes the README's options table from src/options-schema.ts (run with tsx, which the package's
// bench already uses): `npx -y pnpm@10 --filter @jmpjs/transformers-patch docs:options`.
// test/readme-defaults.test.ts fails while the README and the schema differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { optionsTable } from '../src/options-schema.ts';

const readme = fileURLToPath(new URL('../README.md', import.meta.url));
const text = readFileSync(readme, 'utf8');
const block = /(<!-- options-table[^\n]*-->\n)[\s\S]*?(\n<!-- \/options-table -->)/;
if (!block.test(text)) throw new Error(`${readme}: no <!-- options-table --> … <!-- /options-table --> block`);
const next = text.replace(block, (_, open, close) => `${open}${optionsTable()}${close}`);
writeFileSync(readme, next);
console.log(next === text ? 'README.md: the options table was up to date' : 'README.md: options table written');
