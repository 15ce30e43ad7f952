// `ipsec-3gpp/wire` (dist/wire/index.js) is browser-safe: no Node built-in and no package, transitively, and
// in particular not the native addon's loader (src/wire/native.ts) or the raw transport wire; and neither
// browser entry point reaches the wire's Node-only modules.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const dist = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'dist');

function graph(entry: string): { seen: Set<string>; bad: string[] } {
  const seen = new Set<string>();
  const bad: string[] = [];
  const walk = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = (m[1] ?? m[2])!;
      if (!spec.startsWith('.')) bad.push(`${file.slice(dist.length + 1)} imports ${spec}`);
      else walk(resolve(dirname(file), spec));
    }
  };
  walk(join(dist, entry));
  return { seen, bad };
}

test('dist/wire/index.js imports no Node built-in, no package, and not the native loader', () => {
  const { seen, bad } = graph(join('wire', 'index.js'));
  assert.equal(bad, []);
  assert.ok(seen.size > 10, `${seen.size} modules walked`);
  assert.ok(![...seen].some((f) => f.endsWith(join('wire', 'native.js')) || f.endsWith(join('wire', 'transport-wire.js'))));
});

test('the browser entry points do not reach the wire\'s Node-only modules', () => {
  for (const entry of ['index.js', join('ims', 'index.js')]) {
    const { seen } = graph(entry);
    assert.ok(![...seen].some((f) => f.endsWith(join('wire', 'native.js')) || f.endsWith(join('wire', 'transport-wire.js'))), entry);
  }
});

test.run();
