import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import ts from 'typescript';

/**
 * The host modules stay small and one-way: every file under src/host at most 400 lines, and no
 * import cycle among the package's sources (type-only imports count).
 */
const src = fileURLToPath(new URL('../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path.join(dir, e.name)] : [],
  );
}

/** The package sources a file imports or re-exports from (`#platform`: both platforms). */
function importsOf(file: string, all: Set<string>): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: string[] = [];
  for (const statement of sf.statements) {
    const spec =
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)
        ? statement.moduleSpecifier.text
        : undefined;
    if (spec === undefined) continue;
    const targets =
      spec === '#platform'
        ? [path.join(src, 'host/platform.node.ts'), path.join(src, 'host/platform.web.ts')]
        : spec.startsWith('.')
          ? [path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'))]
          : [];
    out.push(...targets.filter((t) => all.has(t)));
  }
  return out;
}

describe('host layout', { timeout: 60_000 }, () => {
  const files = sources(src);

  it('every file under src/host has at most 400 lines', () => {
    const long = files
      .filter((f) => f.startsWith(path.join(src, 'host')))
      .map((f) => ({ file: path.relative(src, f), lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
      .filter((f) => f.lines > 400);
    expect(long).toEqual([]);
  });

  it('no import cycle among the sources (type-only imports included)', () => {
    const all = new Set(files);
    const graph = new Map(files.map((f) => [f, importsOf(f, all)]));
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[][] = [];
    const visit = (f: string, trail: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(f)), f].map((x) => path.relative(src, x)));
        return;
      }
      state.set(f, 'open');
      for (const g of graph.get(f)!) visit(g, [...trail, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
