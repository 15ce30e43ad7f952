// `ipsec-3gpp/wire` (dist/wire/index.js) is browser-safe: no Node built-in and no package, transitively, and
// in particular not the native addon's loader (src/wire/native.ts) or the raw transport wire; and neither
// browser entry point reaches the wire's Node-only modules.

import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { distGraph as graph } from './dist-graph.js';

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
