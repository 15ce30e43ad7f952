// What `npm pack` ships (issue 18 item 4): the library, its types and the CLI, the native addon's sources, the
// LICENSE, SECURITY.md, README and CHANGELOG; no tests, no source maps pointing at unshipped sources; the types
// resolve for every entry point, also for `moduleResolution: node10` (typesVersions); the embedded WASM is not
// a 56 kB literal type in a .d.ts; the WASM modules ship as assets (`ipsec-3gpp/core.wasm`, issue 18 item 5), the
// same bytes as the embedded copies.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

test('npm pack: what ships and what does not', () => {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const files: string[] = JSON.parse(r.stdout)[0].files.map((f: { path: string }) => f.path);
  for (const f of ['LICENSE', 'SECURITY.md', 'README.md', 'CHANGELOG.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/ims/index.js', 'dist/node.js', 'dist/wire/index.js', 'dist/cli/main.js', 'dist/core.wasm', 'dist/aka.wasm', 'native/wire.c', 'native/binding.gyp']) {
    assert.ok(files.includes(f), `${f} is in the package`);
  }
  assert.equal(files.filter((f) => f.endsWith('.map')), [], 'no source maps (their sources are not shipped)');
  assert.equal(files.filter((f) => /^(test|bench|src|assembly|web|scripts\/(?!build-native))/.test(f)), [], 'no tests, sources or tools');
});

test('package metadata: repository, homepage and bugs name one repository; the version has a dated CHANGELOG entry', () => {
  const repo = /^git\+(https:\/\/github\.com\/[\w.-]+\/[\w.-]+)\.git$/.exec(pkg.repository?.url ?? '');
  assert.ok(repo, `repository.url is a git+https GitHub URL: ${pkg.repository?.url}`);
  assert.is(pkg.repository.type, 'git');
  assert.is(pkg.homepage, `${repo![1]}#readme`);
  assert.is(pkg.bugs?.url, `${repo![1]}/issues`);
  const changelog = readFileSync(join(root, 'CHANGELOG.md'), 'utf8');
  assert.match(changelog, new RegExp(`^## \\[${pkg.version.replace(/\./g, '\\.')}\\] - \\d{4}-\\d{2}-\\d{2}$`, 'm'), `CHANGELOG.md has a dated section for ${pkg.version}`);
});

test('types: every export condition and typesVersions entry names a file that exists; no huge literal type', () => {
  for (const [entry, cond] of Object.entries(pkg.exports as Record<string, { types?: string; default?: string } | string>)) {
    if (typeof cond === 'string') continue;
    for (const f of [cond.types, cond.default]) if (f) assert.ok(existsSync(join(root, f)), `${entry}: ${f}`);
  }
  for (const [sub, paths] of Object.entries(pkg.typesVersions['*'] as Record<string, string[]>)) {
    assert.ok(existsSync(join(root, paths[0]!)), `typesVersions ${sub}`);
    assert.ok(Object.keys(pkg.exports).includes(`./${sub}`), `typesVersions ${sub} is an export`);
  }
  for (const name of ['core', 'aka']) {
    const d = readFileSync(join(root, `dist/wasm/${name}.generated.d.ts`), 'utf8');
    assert.ok(d.length < 500, `${name}.generated.d.ts is ${d.length} characters`);
    assert.match(d, /WASM_BASE64: string/);
    // The asset export is the module the library embeds (byte for byte), and a WASM binary.
    const asset = readFileSync(join(root, pkg.exports[`./${name}.wasm`]));
    assert.equal([...asset.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d], `${name}.wasm starts with \\0asm`);
    const js = readFileSync(join(root, `dist/wasm/${name}.generated.js`), 'utf8');
    assert.ok(asset.equals(Buffer.from(/'([A-Za-z0-9+/=]+)'/.exec(js)![1]!, 'base64')), `dist/${name}.wasm is the embedded module`);
  }
  assert.is(pkg.engines.node, '>=20.19');
  assert.ok(existsSync(join(root, 'LICENSE')) && /MIT License/.test(readFileSync(join(root, 'LICENSE'), 'utf8')));
});

test('a TypeScript user under moduleResolution node10 (and nodenext) resolves every entry point', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ipsec3gpp-types-'));
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(root, join(dir, 'node_modules', 'ipsec-3gpp'), 'dir');
  writeFileSync(join(dir, 'a.ts'), [
    "import { EspSa, init } from 'ipsec-3gpp';",
    "import { UeClient, udpEncapWire } from 'ipsec-3gpp/ims';",
    "import { NodeUdpNetwork, transportModeWire } from 'ipsec-3gpp/node';",
    "import { WireProcessor } from 'ipsec-3gpp/wire';",
    'export const used = [EspSa, init, UeClient, udpEncapWire, NodeUdpNetwork, transportModeWire, WireProcessor];',
  ].join('\n'));
  // TypeScript 7 (the project's) has no node10 resolution any more: TypeScript 5 (devDependency `typescript5`)
  // checks it, as the many projects still on it would resolve the package.
  const tsc7 = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const tsc5 = join(root, 'node_modules', 'typescript5', 'bin', 'tsc');
  for (const [tsc, mod, res] of [[tsc5, 'commonjs', 'node10'], [tsc7, 'nodenext', 'nodenext'], [tsc7, 'esnext', 'bundler']]) {
    const r = spawnSync(process.execPath, [tsc!, '--noEmit', '--strict', '--skipLibCheck', '--types', 'node', '--typeRoots', join(root, 'node_modules', '@types'), '--module', mod!, '--moduleResolution', res!, '--target', 'es2022', join(dir, 'a.ts')], { cwd: dir, encoding: 'utf8' });
    assert.is(r.status, 0, `${res}: ${r.stdout}${r.stderr}`);
  }
  // The control: without typesVersions, node10 cannot see the subpath exports.
  const bare = mkdtempSync(join(tmpdir(), 'ipsec3gpp-types-bare-'));
  mkdirSync(join(bare, 'node_modules', 'ipsec-3gpp'), { recursive: true });
  const { typesVersions: _tv, ...noTv } = pkg;
  writeFileSync(join(bare, 'node_modules', 'ipsec-3gpp', 'package.json'), JSON.stringify(noTv));
  symlinkSync(join(root, 'dist'), join(bare, 'node_modules', 'ipsec-3gpp', 'dist'), 'dir');
  writeFileSync(join(bare, 'a.ts'), "import { UeClient } from 'ipsec-3gpp/ims';\nexport const u = UeClient;\n");
  const c = spawnSync(process.execPath, [tsc5, '--noEmit', '--skipLibCheck', '--types', 'node', '--typeRoots', join(root, 'node_modules', '@types'), '--module', 'commonjs', '--moduleResolution', 'node10', join(bare, 'a.ts')], { cwd: bare, encoding: 'utf8' });
  assert.is.not(c.status, 0, 'without typesVersions node10 fails (the check can fail)');
});

test.run();
