// Every JavaScript/TypeScript code block of README.md (and of examples/**/README.md) runs as pasted: each
// is written into a fresh project directory whose node_modules/ipsec-3gpp links to this package (so
// 'ipsec-3gpp', 'ipsec-3gpp/ims' and 'ipsec-3gpp/node' resolve to the built dist/, as after npm install)
// and run with tsx; it fails when one throws or exits non-zero. Blocks tagged otherwise (sh, output,
// headers) are not run; a block that cannot run anywhere (it needs equipment at fixed addresses, root) is
// marked `<!-- snippet: no-run (reason) -->` on the line before it, with its reason. The `sh` blocks'
// `npx ipsec-3gpp <command> --option` lines are checked against that command's --help. All TypeScript
// blocks are also type-checked (strict) against the package's .d.ts: a misspelt option runs, silently
// ignored, but does not type-check; a no-run block may lack only the inputs it does not define.

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUN = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs']);

export interface Snippet { file: string; line: number; lang: string; code: string; noRun?: string }

/** The fenced code blocks of a Markdown file, with the no-run marker of the line before each. */
export function snippets(file: string, text: string): Snippet[] {
  const out: Snippet[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    let j = i + 1;
    while (j < lines.length && !/^```\s*$/.test(lines[j]!)) j++;
    const s: Snippet = { file, line: start + 1, lang: open[1]!, code: lines.slice(start + 1, j).join('\n') };
    const marker = /^<!-- snippet: no-run \((.+)\) -->$/.exec(lines[start - 1]?.trim() ?? '');
    if (marker) s.noRun = marker[1]!;
    else if (/snippet:/.test(lines[start - 1] ?? '')) throw new Error(`${file}:${start}: malformed snippet marker (want <!-- snippet: no-run (reason) -->)`);
    out.push(s);
    i = j;
  }
  return out;
}

const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
const docs = [join(root, 'README.md'), ...walk(join(root, 'examples')).filter((f) => f.endsWith('README.md'))];
const all = docs.flatMap((f) => snippets(relative(root, f), readFileSync(f, 'utf8')));
const runnable = all.filter((s) => RUN.has(s.lang) && s.noRun === undefined);

// A project of one's own with the package installed (a link, as `npm link` makes).
const project = mkdtempSync(join(tmpdir(), 'readme-snippets-'));
mkdirSync(join(project, 'node_modules'));
symlinkSync(root, join(project, 'node_modules', 'ipsec-3gpp'), 'dir');
writeFileSync(join(project, 'package.json'), '{ "type": "module", "private": true }\n');
const tsx = import.meta.resolve('tsx');
test.after(() => rmSync(project, { recursive: true, force: true }));

function runFile(file: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', tsx, file], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    const timer = setTimeout(() => { out += '\n(killed after 60 s)'; child.kill('SIGKILL'); }, 60_000);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

test('the extractor: languages, line numbers, no-run markers with their reasons', () => {
  const md = 'text\n```ts\na();\n```\n<!-- snippet: no-run (needs a P-CSCF) -->\n```js\nb();\n```\n```sh\nls\n```\n```\nout\n```\n';
  const s = snippets('x.md', md);
  assert.equal(s.map((x) => [x.line, x.lang, x.code, x.noRun]), [[2, 'ts', 'a();', undefined], [6, 'js', 'b();', 'needs a P-CSCF'], [9, 'sh', 'ls', undefined], [12, '', 'out', undefined]]);
  assert.throws(() => snippets('x.md', '<!-- snippet: norun -->\n```ts\n```\n'), /malformed snippet marker/);
});

test('README code blocks: every JavaScript/TypeScript block runs or says why not; the exceptions stay few', () => {
  assert.ok(runnable.length >= 6, `${runnable.length} runnable blocks`);
  const skipped = all.filter((s) => s.noRun !== undefined);
  for (const s of skipped) {
    assert.ok(RUN.has(s.lang), `${s.file}:${s.line}: a no-run marker on a ${s.lang || 'plain'} block, which is not run anyway`);
    assert.ok(s.noRun!.length >= 10, `${s.file}:${s.line}: say why it cannot run`);
  }
  assert.ok(skipped.length <= 3, skipped.map((s) => `${s.file}:${s.line}`).join(', '));
  // A block in an unknown tag would escape both the run and the marker check.
  for (const s of all) assert.ok(RUN.has(s.lang) || ['sh', ''].includes(s.lang), `${s.file}:${s.line}: tag ${s.lang}`);
});

for (const s of runnable) {
  test(`${s.file}:${s.line} (${s.lang}) runs as pasted`, async () => {
    const file = join(project, `snippet-${s.line}.${s.lang.startsWith('j') || s.lang === 'mjs' ? 'mjs' : 'ts'}`);
    writeFileSync(file, `${s.code}\n`);
    const r = await runFile(file);
    assert.is(r.code, 0, `${s.file}:${s.line}\n${s.code}\n--- output ---\n${r.out}`);
  });
}

test('every TypeScript block type-checks (strict) against the package\'s declarations; no-run blocks only lack their inputs', () => {
  // One tsc run over all blocks, each a module of its own. A no-run block is a fragment: names it does not
  // define (the caller's db, set, impi, ...) are its only allowed errors.
  const MISSING_NAME = new Set([2304, 2552, 18004]); // cannot find name; did you mean; no value for shorthand property
  const dir = join(project, 'typecheck');
  mkdirSync(dir, { recursive: true });
  const ts = all.filter((x) => x.lang === 'ts' || x.lang === 'typescript');
  for (const x of ts) writeFileSync(join(dir, `snippet-${x.line}.ts`), `${x.code}\nexport {};\n`);
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2022', 'DOM'], types: ['node'], typeRoots: [join(root, 'node_modules', '@types')],
      strict: true, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, noEmit: true, skipLibCheck: true,
    },
    include: ['*.ts'],
  }));
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir, '--pretty', 'false'], { encoding: 'utf8' });
  const errors = `${r.stdout}${r.stderr}`.split('\n').filter((l) => /error TS\d+/.test(l));
  const bad = errors.filter((l) => {
    const m = /snippet-(\d+)\.ts\(\d+,\d+\): error TS(\d+)/.exec(l);
    if (!m) return true;
    const block = ts.find((x) => x.line === Number(m[1]));
    return !(block?.noRun !== undefined && MISSING_NAME.has(Number(m[2])));
  });
  assert.equal(bad, [], bad.join('\n'));
  assert.ok(ts.length >= 8);
});

test('no-run blocks: what they import from the package exists', async () => {
  let names = 0;
  for (const s of all.filter((x) => x.noRun !== undefined)) {
    for (const m of s.code.matchAll(/import \{([^}]+)\} from '(ipsec-3gpp(?:\/[a-z]+)?)'/g)) {
      const mod = await import(m[2]!) as Record<string, unknown>;
      for (const name of m[1]!.split(',').map((x) => x.trim()).filter((x) => x !== '' && !x.startsWith('type '))) {
        assert.ok(name in mod, `${s.file}:${s.line}: ${m[2]} has no export ${name}`);
        names++;
      }
    }
  }
  assert.ok(names >= 4, `${names} imports checked`);
});

test('sh blocks: every `npx ipsec-3gpp <command>` line uses options that command\'s --help lists', () => {
  const cli = join(root, 'dist', 'cli', 'main.js');
  const help = new Map<string, string>();
  let checked = 0;
  for (const s of all.filter((x) => x.lang === 'sh')) {
    // Join continued lines, drop comments.
    const lines = s.code.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.replace(/(^|\s)#.*$/, '').trim());
    for (const line of lines) {
      const m = /(?:npx ipsec-3gpp|node dist\/cli\/main\.js) (\S+)(.*)$/.exec(line);
      if (!m) continue;
      const command = m[1]!;
      if (!help.has(command)) {
        const h = spawnSync(process.execPath, [cli, command, '--help'], { encoding: 'utf8' });
        assert.is(h.status, 0, `${s.file}:${s.line}: ipsec-3gpp ${command} --help: ${h.stderr}`);
        help.set(command, h.stdout);
      }
      for (const opt of m[2]!.match(/(?<=\s)--[a-z][a-z0-9-]*/g) ?? []) {
        assert.ok(new RegExp(`(^|[\\s,])${opt}\\b`).test(help.get(command)!), `${s.file}:${s.line}: ipsec-3gpp ${command} has no ${opt}`);
        checked++;
      }
    }
  }
  assert.ok(checked >= 10, `${checked} options checked`);
});

test.run();
