// The shipped API is documented (issue 18 item 1): every export of the four entry points' declarations
// (dist/index.d.ts, dist/ims/index.d.ts, dist/node.d.ts, dist/wire/index.d.ts, built by npm test before the
// tests) carries TSDoc, read with the TypeScript 5 compiler API (devDependency `typescript5`; the project's
// TypeScript 7 has no JS API); no `@internal` member reaches a .d.ts (tsconfig.json's stripInternal), and
// stripping left the declarations self-consistent (they type-check with no skipLibCheck); and docs/api/ is
// what `npm run docs` makes of them now (TypeDoc, warnings as errors).

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import ts from '../node_modules/typescript5/lib/typescript.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entries = ['dist/index.d.ts', 'dist/ims/index.d.ts', 'dist/node.d.ts', 'dist/wire/index.d.ts'];

const program = ts.createProgram(entries.map((e) => join(root, e)), {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
  types: ['node'],
  typeRoots: [join(root, 'node_modules', '@types')],
  strict: true,
  noEmit: true,
});
// before any documentation is asked for: resolving a {@link} adds checker diagnostics of its own
const diagnostics = ts.getPreEmitDiagnostics(program);
const checker = program.getTypeChecker();

const docOf = (sym: ts.Symbol): string => ts.displayPartsToString(sym.getDocumentationComment(checker)).trim();
const where = (sym: ts.Symbol): string =>
  relative(join(root, 'dist'), sym.declarations?.[0]?.getSourceFile().fileName ?? '?');

/** Every export of every entry point, as [entry, exported name, resolved symbol]. */
function exportsOf(): [string, string, ts.Symbol][] {
  const out: [string, string, ts.Symbol][] = [];
  for (const e of entries) {
    const sf = program.getSourceFile(join(root, e));
    assert.ok(sf, `${e} is missing: the build (npm test's first step) makes it`);
    const mod = checker.getSymbolAtLocation(sf!);
    assert.ok(mod, `${e} is not a module`);
    for (const sym of checker.getExportsOfModule(mod!)) {
      const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
      out.push([e, sym.name, target]);
    }
  }
  return out;
}

test('every export of the four entry points has TSDoc', () => {
  const all = exportsOf();
  assert.ok(all.length > 200, `only ${all.length} exports found: the entry points did not load`);
  const missing = [...new Set(all.filter(([, , s]) => docOf(s) === '').map(([, n, s]) => `${n} (${where(s)})`))].sort();
  assert.equal(missing.length, 0, `${missing.length} exports without TSDoc:\n  ${missing.join('\n  ')}`);
});

test('public methods and properties (static ones too) of the main classes have TSDoc', () => {
  const classes = new Map(exportsOf().filter(([, , s]) => s.flags & ts.SymbolFlags.Class).map(([, n, s]) => [n, s]));
  const missing: string[] = [];
  for (const name of ['UeClient', 'PcscfProxy', 'ImsCore', 'SaDatabase', 'SaSet', 'EspSa', 'UeSecAgree', 'PcscfSecAgree']) {
    const cls = classes.get(name);
    assert.ok(cls, `${name} is not exported`);
    const statics = [...(cls!.exports ?? new Map())].filter(([k]) => k !== 'prototype');
    for (const [key, member] of [...(cls!.members ?? new Map()), ...statics]) {
      const decl = member.declarations?.[0];
      if (!decl) continue;
      const mods = ts.getCombinedModifierFlags(decl as ts.Declaration);
      if (mods & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
      if (String(key).startsWith('__') && key !== '__constructor') continue; // index signatures, private names
      if (docOf(member) === '') missing.push(`${name}.${String(key)}`);
    }
  }
  assert.equal(missing.length, 0, `${missing.length} members without TSDoc:\n  ${missing.join('\n  ')}`);
});

/** Every .d.ts under dir. */
function declarations(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? declarations(join(dir, d.name)) : d.name.endsWith('.d.ts') ? [join(dir, d.name)] : []);
}

test('no @internal member in the shipped declarations, and they still type-check', () => {
  const leaked = declarations(join(root, 'dist')).filter((f) => readFileSync(f, 'utf8').includes('@internal'))
    .map((f) => relative(root, f));
  assert.equal(leaked, [], `@internal in ${leaked.join(', ')}: is stripInternal still set in tsconfig.json?`);
  // stripInternal removes a declaration even where another .d.ts still refers to it
  const diags = diagnostics.map((d) =>
    `${d.file ? relative(root, d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
  assert.equal(diags, []);
});

test('docs/api/ is what npm run docs makes of the declarations, without TypeDoc warnings', () => {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'docs.mjs'), '--check'], { cwd: root, encoding: 'utf8' });
  assert.is(r.status, 0, `scripts/docs.mjs --check failed:\n${r.stdout}${r.stderr}`);
});

test.run();
