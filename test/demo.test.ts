// `npm start` (the demo) as a user runs it: exit 0 and the story's key lines, unprivileged (UDP-enc-tun on
// loopback). The demo on two hosts (network namespaces, transport mode) is in test/wire/roles.wire.ts.

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

test('demo --wire udp-enc-tun: three UEs register over UDP-encapsulated ESP; bob gets the location, carol does not; exit 0', () => {
  const r = spawnSync(process.execPath, [join(root, 'dist/cli/main.js'), 'demo', '--no-matrix', '--notifies', '2', '--wire', 'udp-enc-tun'], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /wire: UDP-encapsulated tunnel mode \(RFC 3948\): ESP in UDP datagrams between the encapsulation ports/);
  assert.match(r.stdout, /registrations: 3 of 3/);
  assert.match(r.stdout, /received in NOTIFY by bob: 2, by carol: 0/);
  assert.match(r.stdout, /the location crossed the UE <-> P-CSCF hop in clear: never/);
  assert.match(r.stdout, /SM1 +REGISTER[^\n]*\n[^\n]*clear, over TCP/, 'the large SM1 over TCP (RFC 3261 18.1.1)');
  assert.match(r.stdout, /Demo completed as expected\./);
});

test.run();
