import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import ts from 'typescript';

/**
 * The Node entry (src/index.ts) and the browser entry (src/index.web.ts) export the same names,
 * values and types alike, but the documented Node-only ones: the file-based compileJMPModel /
 * inspectModel and their types (index.web.ts's header says so).
 */
const NODE_ONLY = ['compileJMPModel', 'inspectModel', 'CompileJMPModelParams', 'CompileJMPOptions', 'CompiledModelInfo', 'ModelInspection', 'ModelDtype'];

const source = (file: string) => readFileSync(new URL(`../src/${file}`, import.meta.url), 'utf8');

/** The names a file exports, each as a value or a type only; side-effect imports listed apart. Anything else is an error (the test would not see its names). */
function exportsOf(file: string): { values: string[]; types: string[]; sideEffects: string[] } {
  const sf = ts.createSourceFile(file, source(file), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const values: string[] = [];
  const types: string[] = [];
  const sideEffects: string[] = [];
  for (const statement of sf.statements) {
    if (ts.isImportDeclaration(statement) && !statement.importClause) {
      sideEffects.push((statement.moduleSpecifier as ts.StringLiteral).text);
      continue;
    }
    if (!ts.isExportDeclaration(statement) || !statement.exportClause || !ts.isNamedExports(statement.exportClause)) {
      throw new Error(
        `${file}: a statement this test does not read (only \`export { … } from\`, \`export type { … } from\` and side-effect imports): ${statement.getText(sf)}`,
      );
    }
    for (const element of statement.exportClause.elements) {
      (statement.isTypeOnly || element.isTypeOnly ? types : values).push(element.name.text);
    }
  }
  return { values: values.sort(), types: types.sort(), sideEffects };
}

describe('entry points', { timeout: 180_000 }, () => {
  const node = exportsOf('index.ts');
  const web = exportsOf('index.web.ts');

  it('export the same names, but the documented Node-only ones', () => {
    const withoutNodeOnly = (names: string[]) => names.filter((n) => !NODE_ONLY.includes(n));
    expect(web.values).toEqual(withoutNodeOnly(node.values));
    expect(web.types).toEqual(withoutNodeOnly(node.types));
    // the Node-only names are all in the Node entry, and none in the browser's
    expect([...node.values, ...node.types]).toEqual(expect.arrayContaining(NODE_ONLY));
    expect([...web.values, ...web.types].filter((n) => NODE_ONLY.includes(n))).toEqual([]);
    // no name twice
    for (const names of [node, web].map((e) => [...e.values, ...e.types])) expect(new Set(names).size).toBe(names.length);
  });

  it('export the public types named in the API (JmpMetric, VisionPipelineLike and its deprecated alias)', () => {
    for (const e of [node, web])
      expect(e.types).toEqual(expect.arrayContaining(['JmpMetric', 'VisionPipelineLike', 'ImageClassificationPipelineLike', 'JMPHandle', 'JMPModelInfo']));
  });

  it('both import the session hook for its effect, and package.json declares them and the hook as side effects', () => {
    expect(node.sideEffects).toEqual(['./host/session-hook.js']);
    expect(web.sideEffects).toEqual(['./host/session-hook.js']);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { sideEffects: unknown };
    // the hook and the entries that import it (a bundler drops the side-effect imports of a module it
    // takes as side-effect free), in src and in dist as tsconfig.build.json lays it out (rootDir src → outDir dist)
    const modules = ['index', 'index.web', 'host/session-hook'];
    expect(pkg.sideEffects).toEqual([...modules.map((m) => `./src/${m}.ts`), ...modules.map((m) => `./dist/${m}.js`)]);
    expect(source('host/session-hook.ts')).toMatch(/^trackSessions\(platform\.ort\(\)\);$/m);
  });

  it('at runtime, both modules have the values their export lists name', async () => {
    const [nodeModule, webModule] = await Promise.all([import('../src/index.js'), import('../src/index.web.js')]);
    expect(Object.keys(nodeModule).sort()).toEqual(node.values);
    expect(Object.keys(webModule).sort()).toEqual(web.values);
    for (const name of web.values) expect((webModule as Record<string, unknown>)[name]).toBe((nodeModule as Record<string, unknown>)[name]);
  });
});
